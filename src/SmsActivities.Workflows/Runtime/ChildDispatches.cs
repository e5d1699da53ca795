using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// A dispatched child as rows of the parent's commit, and back: a stimulus row that carries its input and parent link
/// (never matched: it is written consumed) and the start delivery the dispatcher runs, named after the child.
/// </summary>
internal static class ChildDispatches
{
    private const string DedupePrefix = "child-start:";

    /// <param name="secrets">What the parent's run marked secret: masked in the stored input (see <see cref="DispatchedSecrets"/>).</param>
    public static (StimulusRow Stimulus, DeliveryRow Delivery) Rows(ChildDispatch dispatch, DateTimeOffset now, TimeSpan retention, IReadOnlyCollection<string> secrets)
    {
        var request = dispatch.Request;
        var payload = ChildWorkflows.Payload(request.InstanceId);
        var input = new JsonObject
        {
            ["input"] = new JsonObject(request.Input.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))),
            ["properties"] = ChildWorkflows.PropertiesFor(request),
        };
        var stimulus = new StimulusRow
        {
            Id = RuntimeRows.NewId(), Name = ChildWorkflows.DispatchStimulusName, Hash = BookmarkHasher.Hash(ChildWorkflows.DispatchStimulusName, payload),
            PayloadJson = payload.ToJsonString(WorkflowJson.Options), InputJson = SecretRedactor.RedactData(input.ToJsonString(WorkflowJson.Options), secrets), CorrelationId = request.CorrelationId,
            DedupeKey = DedupePrefix + request.InstanceId, Status = StimulusStatus.Consumed, ReceivedAt = DbTime.ToDb(now), ExpiresAt = DbTime.ToDb(now + retention),
        };
        var delivery = RuntimeRows.NewDelivery(stimulus.Id, DeliveryKind.StartChild, now, TimeSpan.Zero, definitionVersionId: dispatch.DefinitionVersionId);
        delivery.Id = request.InstanceId; // the started instance takes the delivery's id: the child's, which the parent's bookmark names
        return (stimulus, delivery);
    }

    /// <summary>
    /// The start a <see cref="DeliveryKind.StartChild"/> delivery makes, from what its stimulus carries, or from the
    /// parent's request when this process still has it (its stored input was masked).
    /// </summary>
    public static StartRun StartOf(Workflow workflow, JsonObject? carried, string? correlationId, string deliveryId, ChildWorkflowRequest? live) => new(workflow)
    {
        Input = live?.Input ?? (carried?["input"] as JsonObject ?? []).ToDictionary(p => p.Key, p => p.Value?.DeepClone()),
        Secrets = live?.Secrets ?? [],
        Properties = carried?["properties"]?.DeepClone() as JsonObject,
        CorrelationId = correlationId,
        DeliveryId = deliveryId,
    };
}
