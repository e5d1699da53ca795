using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Runs what one delivery is owed: the start of a triggered workflow (at most once, by the instance's start key) or
/// the resumption of a bookmark. A busy instance defers the delivery to the retry loop.
/// </summary>
internal sealed class DeliveryRunner(
    IDbContextFactory<WorkflowDbContext> db,
    WorkflowDefinitionService definitions,
    WorkflowStarter starter,
    BookmarkResumer resumer,
    DeliveryLedger deliveries)
{
    /// <param name="stimulusHash">Known when the delivery was just recorded: spares the resume looking its target up again.</param>
    /// <param name="dropWhenBusy">A busy instance drops the delivery instead of deferring it (nobody waits for its retry).</param>
    public async Task<RunOutcome> RunAsync(DeliveryRow delivery, JsonObject? input, string? correlationId, CancellationToken cancellationToken, string? stimulusHash = null,
        bool dropWhenBusy = false)
    {
        if (delivery.Kind == DeliveryKind.Resume)
        {
            var outcome = await resumer.ResumeAsync(new ResumeRun(delivery.BookmarkId!)
            {
                Input = input,
                DeliveryId = delivery.Id,
                Target = stimulusHash is null || delivery.InstanceId is null ? null : new ResumeTarget(delivery.InstanceId, stimulusHash),
            }, cancellationToken);
            if (outcome.Deferred && dropWhenBusy) await deliveries.DropAsync(delivery.Id, cancellationToken);
            else if (outcome.Deferred) await deliveries.DeferAsync(delivery, cancellationToken);
            return outcome;
        }
        await using (var context = await db.CreateDbContextAsync(cancellationToken))
        {
            if (await context.Instances.AnyAsync(i => i.StartKey == delivery.Id, cancellationToken))
                return await deliveries.DropAsync(delivery.Id, cancellationToken);
        }
        var workflow = await definitions.GetWorkflowAsync(delivery.DefinitionVersionId!, cancellationToken);
        return await starter.StartAsync(new StartRun(workflow)
        {
            CorrelationId = correlationId,
            TriggerActivityId = delivery.TriggerActivityId,
            TriggerInput = input ?? [],
            DeliveryId = delivery.Id,
        }, cancellationToken);
    }
}
