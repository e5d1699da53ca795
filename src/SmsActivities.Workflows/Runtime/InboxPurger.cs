using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Drops stimuli past their retention (unmatched ones expire, consumed ones stop guarding their dedupe key), and keeps
/// the stimuli waiting with a short unmatched retention under <see cref="WorkflowRuntimeOptions.MaxUnmatchedStimuli"/>.
/// </summary>
internal sealed class InboxPurger(IDbContextFactory<WorkflowDbContext> db, TimeProvider time, IOptions<WorkflowRuntimeOptions> options, WorkflowTelemetry telemetry,
    ILogger<InboxPurger> logger)
{
    /// <summary>
    /// How often the cap is checked: it walks the waiting stimuli newest first (index on status, arrival, id) past the
    /// cap, too much for every poll; a flood overshoots the cap by at most this long's worth of pushes before it is cut back.
    /// </summary>
    private static readonly TimeSpan TrimInterval = TimeSpan.FromSeconds(10);

    private DateTimeOffset _nextTrim;

    public async Task<int> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(time.GetUtcNow());
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        return await context.Stimuli.Where(s => s.ExpiresAt < now && !context.Deliveries.Any(d => d.StimulusId == s.Id)).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>
    /// Drops the oldest stimuli kept with a short unmatched retention (<see cref="Execution.Stimulus.UnmatchedRetention"/>:
    /// events that matched nothing, such as a report of an unknown message) beyond the cap, so a flood of foreign or
    /// forged pushes cannot fill the store within their retention. Told apart by a life shorter than the inbox's
    /// retention; stimuli kept the full retention are never dropped by count. Logged once per purge, with no values.
    /// </summary>
    /// <returns>How many were dropped (0 when the check is not due yet).</returns>
    public async Task<int> TrimUnmatchedAsync(CancellationToken cancellationToken)
    {
        var at = time.GetUtcNow();
        if (at < _nextTrim) return 0;
        _nextTrim = at + TrimInterval;
        var max = options.Value.MaxUnmatchedStimuli;
        var full = (long)options.Value.InboxRetention.TotalMilliseconds;
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var brief = context.Stimuli.Where(s => s.Status == StimulusStatus.Pending && s.ExpiresAt - s.ReceivedAt < full && !context.Deliveries.Any(d => d.StimulusId == s.Id));
        // The newest beyond the cap, by arrival then id: it and every one before it in that order go. The id breaks ties,
        // so a flood that arrived within one instant loses exactly its excess, not every event of that instant.
        var cut = await brief.OrderByDescending(s => s.ReceivedAt).ThenByDescending(s => s.Id).Skip(max)
            .Select(s => new { s.ReceivedAt, s.Id }).FirstOrDefaultAsync(cancellationToken);
        if (cut is null) return 0;
        var dropped = await brief.Where(s => s.ReceivedAt < cut.ReceivedAt || (s.ReceivedAt == cut.ReceivedAt && string.Compare(s.Id, cut.Id) <= 0))
            .ExecuteDeleteAsync(cancellationToken);
        if (dropped == 0) return 0;
        telemetry.UnmatchedDropped.Add(dropped);
        logger.LogWarning("Inbox: dropped the {Dropped} oldest unmatched stimuli over the cap of {Max} (Workflows:Runtime:MaxUnmatchedStimuli)", dropped, max);
        return dropped;
    }
}
