using Microsoft.EntityFrameworkCore;
using SmsActivities.Activities;
using SmsActivities.OptOut;
using SmsActivities.Persistence;
using SmsActivities.Routing;

namespace SmsActivities.Tests.Activities;

/// <summary>
/// The run-once protocol the sending activities share, on a real SQLite file: what a second execution under the same
/// key finds after the first completed, after it died inside the vendor call, and after it was refused before any
/// record; and a step taken out of order refused rather than sending twice.
/// </summary>
public sealed class SendOnceTests
{
    private static readonly ManualTimeProvider Time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private static readonly SendOwner Owner = new("instance-1", "send", "definition-1");

    private sealed record Outputs(int Sent, string Outcome);

    [Fact]
    public async Task A_completed_send_is_replayed_and_cannot_be_begun_again()
    {
        await using var database = await TestDatabase.CreateAsync(postgres: false);
        var records = new SendRecordStore(database.Factory, Time);

        var first = await SendOnce<Outputs>.FindAsync(records, Owner, "key-1", ["+8613900000001"], default);
        Assert.Null(first.Prior);
        Assert.False(first.Interrupted);
        await first.StartAsync("yunpian", ["+8613900000001"], default);
        await first.CompleteAsync([new SmsRecipientOutcome("+8613900000001", "yunpian", true, "m-1", "0", null, 0.05m, 1)], new Outputs(1, "Sent"), default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => first.CompleteAsync([], new Outputs(1, "Sent"), default));

        var again = await SendOnce<Outputs>.FindAsync(records, Owner, "key-1", ["+8613900000001"], default);
        Assert.Equal(new Outputs(1, "Sent"), again.Completed);
        Assert.False(again.Interrupted);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => again.StartAsync("yunpian", ["+8613900000001"], default));
        Assert.Contains("replay", refused.Message, StringComparison.Ordinal);
        await using var db = await database.Factory.CreateDbContextAsync();
        var record = Assert.Single(await db.SendRecords.AsNoTracking().Where(r => r.IdempotencyKey == "key-1").ToListAsync());
        Assert.True(record is { Status: SendRecordStatus.Accepted, MessageId: "m-1", InstanceId: "instance-1", ActivityId: "send", DefinitionId: "definition-1" },
            $"{record.Status} {record.MessageId} {record.InstanceId} {record.ActivityId} {record.DefinitionId}");
    }

    [Fact]
    public async Task An_execution_that_died_inside_the_call_leaves_its_recipients_in_doubt_and_begins_nothing_new()
    {
        await using var database = await TestDatabase.CreateAsync(postgres: false);
        var records = new SendRecordStore(database.Factory, Time);
        var mobiles = new[] { "+8613900000001", "+8613900000002" };
        var died = await SendOnce<Outputs>.FindAsync(records, Owner, "key-2", mobiles, default);
        await died.StartAsync("tencent", mobiles, default);
        // The process dies here, inside the vendor call: nothing completes.

        var rerun = await SendOnce<Outputs>.FindAsync(records, Owner, "key-2", mobiles, default);
        Assert.True(rerun.Interrupted);
        Assert.Equal(mobiles, rerun.Prior!.InDoubt.Order());
        await rerun.StartAsync("tencent", mobiles, default);
        await using (var db = await database.Factory.CreateDbContextAsync())
        {
            var rows = await db.SendRecords.AsNoTracking().Where(r => r.IdempotencyKey == "key-2").ToListAsync();
            Assert.Equal(2, rows.Count);
            Assert.All(rows, r => Assert.Equal(SendRecordStatus.InDoubt, r.Status));
        }

        // An activity that does not go on after an interruption ends there; it cannot then begin.
        var voice = await SendOnce<Outputs>.FindAsync(records, Owner, "key-2", [], default);
        await voice.EndInDoubtAsync(default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => voice.StartAsync("tencent", mobiles, default));
        var fresh = await SendOnce<Outputs>.FindAsync(records, Owner, "key-3", [], default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => fresh.EndInDoubtAsync(default));
    }

    [Fact]
    public async Task A_batched_send_starts_and_settles_batch_by_batch_and_a_rerun_goes_on_with_the_batches_never_started()
    {
        await using var database = await TestDatabase.CreateAsync(postgres: false);
        var records = new SendRecordStore(database.Factory, Time);
        var mobiles = Enumerable.Range(0, 6).Select(i => $"+86139000000{i:D2}").ToArray();
        var first = await SendOnce<Outputs>.FindAsync(records, Owner, "campaign", mobiles, default);
        await Assert.ThrowsAsync<InvalidOperationException>(() => first.RecordIdsAsync(default));
        await first.StartAsync("yunpian", mobiles, default, batched: true);
        var ids = await first.RecordIdsAsync(default);
        Assert.Equal(await records.RecordIdsAsync("campaign", default), ids);

        Assert.True(await first.StartBatchAsync(mobiles[..3].Select(m => ids[m]).ToArray(), default));
        await first.SettleBatchAsync(mobiles[..3].Select((m, i) => new SmsRecipientOutcome(m, "yunpian", true, $"m-{i}", "0", null, null, 1)).ToArray(), default);
        Assert.True(await first.StartBatchAsync(mobiles[3..5].Select(m => ids[m]).ToArray(), default));
        // The process dies inside the second batch's call; the third batch was never started.

        var rerun = await SendOnce<Outputs>.FindAsync(records, Owner, "campaign", mobiles, default);
        Assert.True(rerun.Interrupted);
        Assert.Equal(mobiles[3..5], rerun.Prior!.InDoubt.Order());
        Assert.Equal([mobiles[5]], rerun.Prior.NeverAttempted);
        await rerun.StartAsync("yunpian", mobiles, default, batched: true);
        var read = await rerun.RecordIdsAsync(default);
        Assert.Equal(ids, read);
        // A batch the first run started is not handed to a vendor again.
        Assert.False(await rerun.StartBatchAsync([read[mobiles[3]]], default));
        Assert.True(await rerun.StartBatchAsync([read[mobiles[5]]], default));
        await rerun.SettleBatchAsync([new SmsRecipientOutcome(mobiles[5], "yunpian", false, null, "53", "blacklisted", null, 1)], default);
        await using var db = await database.Factory.CreateDbContextAsync();
        var status = await db.SendRecords.AsNoTracking().Where(r => r.IdempotencyKey == "campaign").ToDictionaryAsync(r => r.Mobile, r => r.Status);
        Assert.Equal([SendRecordStatus.Accepted, SendRecordStatus.Accepted, SendRecordStatus.Accepted, SendRecordStatus.InDoubt, SendRecordStatus.InDoubt, SendRecordStatus.Rejected],
            mobiles.Select(m => status[m]));
    }

    [Fact]
    public async Task A_send_refused_before_any_record_keeps_its_outputs_for_a_rerun_and_sees_opt_outs()
    {
        await using var database = await TestDatabase.CreateAsync(postgres: false);
        var records = new SendRecordStore(database.Factory, Time);
        await new OptOutList(database.Factory, Time).AddAsync("+8613900000009", "STOP", "yunpian");

        var send = await SendOnce<Outputs>.FindAsync(records, Owner, "key-4", ["+8613900000009", "+8613900000001"], default);
        Assert.Equal(["+8613900000009"], send.OptedOut);
        await send.KeepUnsentAsync(new Outputs(0, "Failed"), default);

        var rerun = await SendOnce<Outputs>.FindAsync(records, Owner, "key-4", [], default);
        Assert.Equal(new Outputs(0, "Failed"), rerun.Completed);
        await using var db = await database.Factory.CreateDbContextAsync();
        Assert.Equal(0, await db.SendRecords.CountAsync(r => r.IdempotencyKey == "key-4"));
    }
}
