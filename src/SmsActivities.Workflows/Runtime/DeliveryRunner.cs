using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>A delivery to run, with what its stimulus brought (the hash, when known, re-matches a bookmark that was re-armed).</summary>
internal sealed record DueDelivery(DeliveryRow Delivery, JsonObject? Input, string? CorrelationId, string? StimulusHash);

/// <summary>
/// Runs what deliveries are owed: the start of a triggered workflow (at most once, by the instance's start key) or
/// the resumption of a bookmark; the resumptions of one instance in one run. A busy instance defers the deliveries to
/// the retry loop.
/// </summary>
internal sealed class DeliveryRunner(
    IDbContextFactory<WorkflowDbContext> db,
    WorkflowDefinitionService definitions,
    WorkflowStarter starter,
    BookmarkResumer resumer,
    DeliveryLedger deliveries,
    DispatchedInputSeal seal)
{
    /// <summary>
    /// Runs deliveries that resume one instance together (one lease, one load, one commit), or a single delivery of any
    /// kind. Every delivery of <paramref name="lane"/> must resume the same instance when there are several.
    /// </summary>
    public async Task<RunOutcome> RunLaneAsync(IReadOnlyList<DueDelivery> lane, CancellationToken cancellationToken)
    {
        if (lane.Count == 1 || lane[0].Delivery.InstanceId is not { } instanceId)
        {
            var only = lane[0];
            return await RunAsync(only.Delivery, only.Input, only.CorrelationId, cancellationToken, only.StimulusHash);
        }
        var outcome = await resumer.ResumeManyAsync(instanceId,
            lane.Select(d => new Resumption(d.Delivery.BookmarkId!, d.Input, d.Delivery.Id, d.StimulusHash)).ToList(), false, cancellationToken);
        if (outcome.Deferred)
            foreach (var due in lane) await deliveries.DeferAsync(due.Delivery, cancellationToken);
        return outcome;
    }

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
        if (delivery.Kind == DeliveryKind.StartChild) return await starter.StartAsync(ChildDispatches.StartOf(workflow, input, correlationId, delivery.Id, seal), cancellationToken);
        return await starter.StartAsync(new StartRun(workflow)
        {
            CorrelationId = correlationId,
            TriggerActivityId = delivery.TriggerActivityId,
            TriggerInput = input ?? [],
            DeliveryId = delivery.Id,
        }, cancellationToken);
    }
}
