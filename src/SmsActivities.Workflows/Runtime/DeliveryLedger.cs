using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>A due delivery as claimed, with what its stimulus brought.</summary>
internal sealed record ClaimedDelivery(DeliveryRow Delivery, StimulusRow? Stimulus);

/// <summary>
/// The delivery rows' small writes outside a run's commit: claiming due ones for the dispatcher, dropping one that is
/// owed nothing, deferring one to a retry. Every claim of deliveries goes through here.
/// </summary>
internal sealed class DeliveryLedger(IDbContextFactory<WorkflowDbContext> db, SqliteWriteGate writes, TimeProvider time, IOptions<WorkflowRuntimeOptions> options)
{
    /// <summary>
    /// Claims up to <paramref name="max"/> due deliveries, oldest due first: they are pushed a lease ahead (renewed while
    /// this process runs them, see <see cref="LeaseRenewer"/>), so they fall due again only if this process dies.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimDueAsync(int max, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var nowMs = DbTime.ToDb(now);
        var claimedUntil = DbTime.ToDb(now + options.Value.LeaseDuration);
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        List<DeliveryRow> rows;
        using (await writes.EnterAsync(context, urgent: false, cancellationToken))
            rows = await DueWorkClaims.ClaimDeliveriesAsync(context, nowMs, claimedUntil, max, cancellationToken);
        if (rows.Count == 0) return [];
        var stimulusIds = rows.Select(r => r.StimulusId).Distinct().ToList();
        var stimuli = await context.Stimuli.AsNoTracking().Where(s => stimulusIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancellationToken);
        return rows.Select(r => new ClaimedDelivery(r, stimuli.GetValueOrDefault(r.StimulusId))).ToList();
    }

    public Task<RunOutcome> DropAsync(string? deliveryId, CancellationToken cancellationToken) =>
        DropAsync(deliveryId is null ? [] : [deliveryId], cancellationToken);

    public async Task<RunOutcome> DropAsync(IReadOnlyCollection<string> deliveryIds, CancellationToken cancellationToken)
    {
        if (deliveryIds.Count > 0)
        {
            await using var context = await db.CreateDbContextAsync(cancellationToken);
            await context.Deliveries.Where(d => deliveryIds.Contains(d.Id)).ExecuteDeleteAsync(cancellationToken);
        }
        return RunOutcome.Nothing;
    }

    /// <summary>Retries back off exponentially (capped at 10 minutes) so a delivery that keeps failing does not hammer the database.</summary>
    public async Task DeferAsync(DeliveryRow delivery, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var poll = options.Value.PollInterval;
        var backoff = TimeSpan.FromTicks(Math.Min(poll.Ticks * (1L << Math.Min(delivery.Attempts, 20)), TimeSpan.FromMinutes(10).Ticks));
        var next = DbTime.ToDb(time.GetUtcNow() + backoff);
        var deliveryId = delivery.Id;
        await context.Deliveries.Where(d => d.Id == deliveryId)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, next).SetProperty(d => d.Attempts, d => d.Attempts + 1), cancellationToken);
    }
}
