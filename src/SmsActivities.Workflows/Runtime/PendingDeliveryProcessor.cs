using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Runs the deliveries that are due: accepted stimuli, busy instances and failed runs (retried with backoff), crash
/// leftovers. A batch is claimed with one UPDATE (its deliveries fall due again only a lease later, should this process
/// die running them) and run one lane per instance, lanes side by side; a run that fails is deferred alone.
/// </summary>
internal sealed class PendingDeliveryProcessor(
    IDbContextFactory<WorkflowDbContext> db,
    DeliveryRunner runner,
    StimulusSender sender,
    DeliveryLedger deliveries,
    TimeProvider time,
    IOptions<WorkflowRuntimeOptions> options,
    ILogger<PendingDeliveryProcessor> logger)
{
    /// <returns>How many deliveries were due (at most <paramref name="max"/>).</returns>
    public async Task<int> ProcessAsync(int max, CancellationToken cancellationToken)
    {
        List<(DeliveryRow Delivery, StimulusRow? Stimulus)> due;
        var now = time.GetUtcNow();
        var nowMs = DbTime.ToDb(now);
        await using (var context = await db.CreateDbContextAsync(cancellationToken))
        {
            var rows = await context.Deliveries.AsNoTracking().Where(d => d.NextAttemptAt <= nowMs).OrderBy(d => d.NextAttemptAt).Take(max).ToListAsync(cancellationToken);
            if (rows.Count == 0) return 0;
            var ids = rows.Select(r => r.Id).ToList();
            var claimedUntil = DbTime.ToDb(now + options.Value.LeaseDuration);
            await context.Deliveries.Where(d => ids.Contains(d.Id)).ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, claimedUntil), cancellationToken);
            var stimulusIds = rows.Select(r => r.StimulusId).Distinct().ToList();
            var stimuli = await context.Stimuli.AsNoTracking().Where(s => stimulusIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancellationToken);
            due = rows.Select(r => (r, stimuli.GetValueOrDefault(r.StimulusId))).ToList();
        }
        var lanes = due.GroupBy(x => x.Delivery.InstanceId ?? x.Delivery.Id, StringComparer.Ordinal);
        await Parallel.ForEachAsync(lanes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Value.MaxParallelRuns), CancellationToken = cancellationToken },
            async (lane, ct) =>
            {
                foreach (var (delivery, stimulus) in lane) await RunOneAsync(delivery, stimulus, ct);
            });
        return due.Count;
    }

    private async Task RunOneAsync(DeliveryRow delivery, StimulusRow? stimulus, CancellationToken cancellationToken)
    {
        var input = stimulus?.InputJson is { } json ? JsonNode.Parse(json)?.AsObject() : null;
        try
        {
            var outcome = await runner.RunAsync(delivery, input, stimulus?.CorrelationId, cancellationToken, stimulus?.Hash);
            await sender.FollowUpAsync(outcome.FollowUps, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Stimulus delivery {DeliveryId} failed; it will be retried.", delivery.Id);
            await deliveries.DeferAsync(delivery, cancellationToken);
        }
    }
}
