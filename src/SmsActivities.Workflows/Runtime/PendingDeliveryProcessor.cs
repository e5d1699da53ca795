using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Runs the deliveries that are due: left by crashes, busy instances or failed runs (retried with backoff).</summary>
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
        var now = DbTime.ToDb(time.GetUtcNow());
        await using (var context = await db.CreateDbContextAsync(cancellationToken))
        {
            var rows = await DueWorkClaims.ClaimDeliveriesAsync(context, now, now + DueWorkClaims.ClaimWindow(options.Value), max, cancellationToken);
            var stimulusIds = rows.Select(r => r.StimulusId).Distinct().ToList();
            var stimuli = await context.Stimuli.Where(s => stimulusIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancellationToken);
            due = rows.Select(r => (r, stimuli.GetValueOrDefault(r.StimulusId))).ToList();
        }
        foreach (var (delivery, stimulus) in due)
        {
            var input = stimulus?.InputJson is { } json ? JsonNode.Parse(json)?.AsObject() : null;
            try
            {
                var outcome = await runner.RunAsync(delivery, input, stimulus?.CorrelationId, cancellationToken);
                await sender.FollowUpAsync(outcome.FollowUps, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Stimulus delivery {DeliveryId} failed; it will be retried.", delivery.Id);
                await deliveries.DeferAsync(delivery, cancellationToken);
            }
        }
        return due.Count;
    }
}
