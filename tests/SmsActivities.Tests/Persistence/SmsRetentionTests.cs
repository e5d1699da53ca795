using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Otp;
using SmsActivities.Persistence;
using SmsActivities.Routing;

namespace SmsActivities.Tests.Persistence;

/// <summary>The plug-in's purge on a hand-moved clock: each kind of record goes after its own retention, not before.</summary>
public sealed class SmsRetentionTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 11, 21, 9, 0, 0, TimeSpan.Zero));
    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Rate_events_expired_codes_and_send_records_go_after_their_retention()
    {
        var otp = new OtpService(_db.Factory, Options.Create(new OtpOptions()), _time);
        Assert.True((await otp.IssueAsync("+8613800138000", "login", "10.0.0.1")).IsIssued);
        var records = new SendRecordStore(_db.Factory, _time);
        await records.BeginAsync("key-1", "instance-1", "Send1", "yunpian", ["+8613800138000"], default);
        await records.CompleteAsync("key-1", [new SmsRecipientOutcome("+8613800138000", "yunpian", true, "m1", null, null, null, 1)], new { sent = 1 }, default);
        var retention = new SmsRetention(_db.Factory, _db.DeadLetters, Options.Create(new SmsRetentionOptions()), _time);

        Assert.Equal(new SmsRetentionResult(0, 0, 0, 0, 0), await retention.PurgeAsync());

        // Past the rate window (2 h): the rate events go; the expired code waits a day, the send records a week.
        _time.Advance(TimeSpan.FromHours(3));
        Assert.Equal(new SmsRetentionResult(0, 0, 2, 0, 0), await retention.PurgeAsync());

        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(new SmsRetentionResult(0, 0, 0, 1, 0), await retention.PurgeAsync());

        _time.Advance(TimeSpan.FromDays(6));
        Assert.Equal(new SmsRetentionResult(1, 1, 0, 0, 0), await retention.PurgeAsync());
        await using var context = await _db.Factory.CreateDbContextAsync();
        Assert.Equal(0, await context.SendRecords.CountAsync() + await context.SendOutcomes.CountAsync() + await context.RateEvents.CountAsync() + await context.OtpChallenges.CountAsync());
    }

    [Fact]
    public async Task A_set_aside_push_goes_after_its_retention_and_a_push_still_due_never_does()
    {
        await using (var context = await _db.Factory.CreateDbContextAsync())
        {
            var received = _time.GetUtcNow().UtcTicks;
            context.PushInbox.Add(new Inbox.PushInboxEntity { Events = "{}", ReceivedAtTicks = received, DueAtTicks = Inbox.PushInboxProcessor.DeadLetter.UtcTicks, Attempts = 25, Error = "boom" });
            // Due again much later after many failures, but not set aside: it is still the processor's.
            context.PushInbox.Add(new Inbox.PushInboxEntity { Events = "{}", ReceivedAtTicks = received, DueAtTicks = received + TimeSpan.FromDays(30).Ticks, Attempts = 24 });
            await context.SaveChangesAsync();
        }
        var retention = new SmsRetention(_db.Factory, _db.DeadLetters, Options.Create(new SmsRetentionOptions()), _time);

        _time.Advance(TimeSpan.FromDays(7) - TimeSpan.FromMinutes(1));
        Assert.Equal(0, (await retention.PurgeAsync()).DeadLetteredPushes);
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, (await retention.PurgeAsync()).DeadLetteredPushes);
        await using var after = await _db.Factory.CreateDbContextAsync();
        Assert.Equal(24, (await after.PushInbox.SingleAsync()).Attempts);
    }
}
