using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmsActivities.Persistence;

/// <summary>
/// How long the plug-in keeps its own records, bound from <c>SmsActivities:Retention</c>. Send records tie delivery
/// reports and replays back to workflows, so they stay as long as a report can still come (vendors stop pushing after
/// a day or two); rate events only count within the hour; an OTP challenge is useless once expired.
/// </summary>
public sealed class SmsRetentionOptions
{
    /// <summary>Send records and the stored outputs replayed by a repeated execution.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan SendRecords { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Rate-limit events; the limits look back one hour, so this cannot be shorter.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan RateEvents { get; set; } = TimeSpan.FromHours(2);

    /// <summary>OTP challenges (salted hashes) this long after they expired.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan ExpiredOtpChallenges { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Pushed events that match nothing yet and concern no message on a send record: a delivery report of an unknown
    /// message, a reply. They wait in the runtime's inbox this long (a reply at least <c>ReplyClaimWindow</c>) instead of
    /// the inbox retention, long enough for a report that beat its send's record, or a reply that beat its wait, to be
    /// claimed, and short enough that a flood of foreign or forged pushes cannot fill the store.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan UnmatchedEvents { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Pushes the inbox set aside after failing <c>SmsActivities:Inbox:MaxAttempts</c> times, counted from their arrival:
    /// long enough for an operator to look at one and queue it again, after which the vendor's event is given up.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan DeadLetteredPushes { get; set; } = TimeSpan.FromDays(7);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>What one purge of the plug-in's tables removed.</summary>
public sealed record SmsRetentionResult(int SendRecords, int SendOutcomes, int RateEvents, int OtpChallenges, int DeadLetteredPushes);

/// <summary>Deletes the plug-in's records past <see cref="SmsRetentionOptions"/>.</summary>
public sealed class SmsRetention(IDbContextFactory<SmsActivitiesDbContext> dbFactory, Inbox.PushInboxDeadLetters deadLetters, IOptions<SmsRetentionOptions> options, TimeProvider time)
{
    public async Task<SmsRetentionResult> PurgeAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var o = options.Value;
        // Whole minutes, so the insights cells (per minute of creation) go with exactly the records they sum.
        var sendsBefore = (now - o.SendRecords).UtcTicks / TimeSpan.TicksPerMinute * TimeSpan.TicksPerMinute;
        var eventsBefore = (now - o.RateEvents).UtcTicks;
        var expiredBefore = (now - o.ExpiredOtpChallenges).UtcTicks;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await InsightRollup.BeginExclusiveAsync(db, cancellationToken).ConfigureAwait(false);
        var records = await db.SendRecords.Where(r => r.CreatedAtTicks < sendsBefore).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        // A report comes after its send was created, so these reports' records are gone as well.
        await db.DeliveryReports.Where(r => r.ReceivedAtTicks < sendsBefore).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        // A wait by message id needs its mark only until its bookmark is committed; each begin of a wait refreshes it.
        await db.ReportWaits.Where(w => w.WaitedAtTicks < sendsBefore).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        var minute = sendsBefore / TimeSpan.TicksPerMinute;
        await db.InsightCells.Where(c => c.Minute < minute).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        var outcomes = await db.SendOutcomes.Where(r => r.CreatedAtTicks < sendsBefore).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        var events = await db.RateEvents.Where(e => e.AtTicks < eventsBefore).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        var challenges = await db.OtpChallenges.Where(c => c.ExpiresAtTicks < expiredBefore).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        // The inbox has a file of its own on SQLite (PushInboxDatabase).
        var pushes = await deadLetters.PurgeAsync(now - o.DeadLetteredPushes, cancellationToken).ConfigureAwait(false);
        return new SmsRetentionResult(records, outcomes, events, challenges, pushes);
    }
}

/// <summary>Runs <see cref="SmsRetention"/> every <see cref="SmsRetentionOptions.Interval"/> on the injected clock.</summary>
internal sealed class SmsRetentionService(SmsRetention retention, IOptions<SmsRetentionOptions> options, TimeProvider time, ILogger<SmsRetentionService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            do
            {
                try
                {
                    var purged = await retention.PurgeAsync(stoppingToken).ConfigureAwait(false);
                    logger.LogDebug("SMS retention: {Purged}", purged);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "SMS retention purge failed; trying again next interval.");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
