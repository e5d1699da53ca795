using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>A due delivery as claimed, with what its stimulus brought.</summary>
internal sealed record ClaimedDelivery(DeliveryRow Delivery, StimulusRow? Stimulus);

/// <summary>
/// What one claim took: the deliveries, and the rows (untracked) of the instances they resume whose in-process gates
/// and leases it took, with the gates (the holder disposes them). An instance not among <see cref="Leased"/> was busy
/// (here or elsewhere) or is not running.
/// </summary>
internal sealed record ClaimedBatch(IReadOnlyList<ClaimedDelivery> Deliveries, IReadOnlyList<InstanceRow> Leased, IReadOnlyDictionary<string, IDisposable> Gates)
{
    public static ClaimedBatch Empty { get; } = new([], [], new Dictionary<string, IDisposable>());
}

/// <summary>
/// The delivery rows' small writes outside a run's commit: claiming due ones for the dispatcher, dropping one that is
/// owed nothing, deferring one to a retry. Every claim of deliveries goes through here.
/// </summary>
internal sealed class DeliveryLedger(IDbContextFactory<WorkflowDbContext> db, SqliteWriteGate writes, InstanceOwnership ownership, TimeProvider time,
    IOptions<WorkflowRuntimeOptions> options)
{
    /// <summary>
    /// Claims up to <paramref name="max"/> due deliveries, oldest due first: they are pushed a lease ahead (renewed while
    /// this process runs them, see <see cref="LeaseRenewer"/>), so they fall due again only if this process dies. The
    /// same transaction leases the instances they resume, so a batch's ownership costs no write turn of its own, and
    /// every claimed delivery of a leased instance is known to be still owed (only a lease holder serves one).
    /// </summary>
    public async Task<ClaimedBatch> ClaimDueAsync(int max, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var nowMs = DbTime.ToDb(now);
        var claimedUntil = DbTime.ToDb(now + options.Value.LeaseDuration);
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        List<DeliveryRow> rows;
        IReadOnlyList<string> leasedIds = [];
        var gates = new Dictionary<string, IDisposable>(StringComparer.Ordinal);
        try
        {
            using (await writes.EnterAsync(context, urgent: false, cancellationToken))
            {
                await using var tx = await context.Database.BeginTransactionAsync(cancellationToken);
                rows = await DueWorkClaims.ClaimDeliveriesAsync(context, nowMs, claimedUntil, max, cancellationToken);
                // The in-process gate first, as every run takes it: a run of this process that holds it (e.g. a request
                // waiting for the lease) keeps its instance, and the claim does not take the lease from under it.
                foreach (var id in rows.Where(r => r is { Kind: DeliveryKind.Resume, InstanceId: not null }).Select(r => r.InstanceId!).Distinct(StringComparer.Ordinal))
                    if (await ownership.TryEnterNowAsync(id, cancellationToken) is { } gate) gates[id] = gate;
                if (gates.Count > 0) leasedIds = await ownership.LeaseInTransactionAsync(context, gates.Keys.ToList(), cancellationToken);
                await tx.CommitAsync(cancellationToken);
            }
            var leased = await ownership.ReadLeasedAsync(context, leasedIds, cancellationToken);
            var held = leased.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var id in gates.Keys.Where(id => !held.Contains(id)).ToList())
            {
                gates[id].Dispose();
                gates.Remove(id);
            }
            if (rows.Count == 0) return ClaimedBatch.Empty;
            var stimulusIds = rows.Select(r => r.StimulusId).Distinct().ToList();
            var stimuli = await context.Stimuli.AsNoTracking().Where(s => stimulusIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancellationToken);
            return new ClaimedBatch(rows.Select(r => new ClaimedDelivery(r, stimuli.GetValueOrDefault(r.StimulusId))).ToList(), leased, gates);
        }
        catch
        {
            // The leases expire in the database; this process stops renewing them and opens the gates.
            foreach (var id in leasedIds) ownership.Leases.ReleaseInstance(id);
            foreach (var gate in gates.Values) gate.Dispose();
            throw;
        }
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
