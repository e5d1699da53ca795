using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Runs a batch of due deliveries: accepted stimuli, busy instances and failed runs (retried with backoff), crash
/// leftovers. The batch is claimed at once, with the leases of the instances it resumes
/// (<see cref="DeliveryLedger.ClaimDueAsync"/>); the deliveries that resume one instance run together in one run of it,
/// and the resumed instances share one commit (<see cref="BatchResumer"/>). Starts, and instances the batch could not take, run one by one, side by side; a lane
/// that fails is deferred alone.
/// </summary>
internal sealed class PendingDeliveryProcessor(
    DeliveryRunner runner,
    BatchResumer batch,
    StimulusSender sender,
    DeliveryLedger deliveries,
    LeaseRenewer leases,
    IOptions<WorkflowRuntimeOptions> options,
    ILogger<PendingDeliveryProcessor> logger)
{
    /// <returns>How many deliveries were claimed (at most <paramref name="max"/>).</returns>
    public async Task<int> ProcessAsync(int max, CancellationToken cancellationToken)
    {
        var batchClaim = await deliveries.ClaimDueAsync(max, cancellationToken);
        var claimed = batchClaim.Deliveries;
        if (claimed.Count == 0) return 0;
        // The claim holds while this process lives: renewed with the leases, so a long lane is not claimed twice.
        foreach (var c in claimed) leases.TrackStart(c.Delivery.Id);
        var handedToBatch = false;
        try
        {
            var lanes = claimed
                .Select(c => new DueDelivery(c.Delivery, c.Stimulus?.InputJson is { } json ? JsonNode.Parse(json)?.AsObject() : null, c.Stimulus?.CorrelationId, c.Stimulus?.Hash))
                .GroupBy(d => d.Delivery.InstanceId ?? d.Delivery.Id, StringComparer.Ordinal).Select(g => (IReadOnlyList<DueDelivery>)g.ToList()).ToList();
            var resumes = lanes.Where(l => l[0].Delivery is { Kind: Persistence.DeliveryKind.Resume, InstanceId: not null }).ToList();
            var alone = lanes.Except(resumes).ToList();
            handedToBatch = true;
            var outcome = await batch.RunAsync(resumes, batchClaim, cancellationToken);
            foreach (var committed in outcome.Committed) await sender.FollowUpAsync(committed.FollowUps, cancellationToken);
            alone.AddRange(outcome.Left);
            await Parallel.ForEachAsync(alone, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Value.MaxParallelRuns), CancellationToken = cancellationToken },
                async (lane, ct) => await RunLaneAsync(lane, ct));
        }
        finally
        {
            foreach (var c in claimed) leases.ReleaseStart(c.Delivery.Id);
            // The batch gives back what the claim took; if it was never reached, the leases expire and the gates open here.
            if (!handedToBatch)
                foreach (var row in batchClaim.Leased) leases.ReleaseInstance(row.Id);
            foreach (var gate in batchClaim.Gates.Values) gate.Dispose();
        }
        return claimed.Count;
    }

    private async Task RunLaneAsync(IReadOnlyList<DueDelivery> lane, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = await runner.RunLaneAsync(lane, cancellationToken);
            await sender.FollowUpAsync(outcome.FollowUps, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException && lane.Count > 1)
        {
            // Nothing of the lane was committed: each delivery goes alone, so one that cannot run does not hold up the others.
            logger.LogWarning(e, "A run of {Count} deliveries of one instance failed; running them one by one.", lane.Count);
            foreach (var due in lane) await RunLaneAsync([due], cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Stimulus delivery {DeliveryId} failed; it will be retried.", lane[0].Delivery.Id);
            await deliveries.DeferAsync(lane[0].Delivery, cancellationToken);
        }
    }
}
