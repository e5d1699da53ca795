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
    private const string SealedKey = "sealedInput";
    private const string MaskedKey = "maskedInputs";

    /// <param name="secrets">What the parent's run marked secret: masked in the queued input, whose real values travel sealed (see <see cref="DispatchedInputSeal"/>).</param>
    public static (StimulusRow Stimulus, DeliveryRow Delivery) Rows(ChildDispatch dispatch, DateTimeOffset now, TimeSpan retention, IReadOnlyCollection<string> secrets, DispatchedInputSeal seal)
    {
        var request = dispatch.Request;
        var payload = ChildWorkflows.Payload(request.InstanceId);
        var input = new JsonObject(request.Input.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
        var plain = input.ToJsonString(WorkflowJson.Options);
        var masked = SecretRedactor.RedactData(plain, secrets)!;
        var carried = new JsonObject { ["input"] = JsonNode.Parse(masked), ["properties"] = ChildWorkflows.PropertiesFor(request) };
        if (masked != plain)
        {
            var names = JsonNode.Parse(masked)!.AsObject().Where(p => !JsonNode.DeepEquals(p.Value, input[p.Key])).Select(p => (JsonNode?)p.Key);
            carried[MaskedKey] = new JsonArray([.. names]);
            carried[SealedKey] = seal.Seal(request.Input, secrets);
        }
        var stimulus = new StimulusRow
        {
            Id = RuntimeRows.NewId(), Name = ChildWorkflows.DispatchStimulusName, Hash = BookmarkHasher.Hash(ChildWorkflows.DispatchStimulusName, payload),
            PayloadJson = payload.ToJsonString(WorkflowJson.Options), InputJson = carried.ToJsonString(WorkflowJson.Options), CorrelationId = request.CorrelationId,
            DedupeKey = DedupePrefix + request.InstanceId, Status = StimulusStatus.Consumed, ReceivedAt = DbTime.ToDb(now), ExpiresAt = DbTime.ToDb(now + retention),
        };
        var delivery = RuntimeRows.NewDelivery(stimulus.Id, DeliveryKind.StartChild, now, TimeSpan.Zero, definitionVersionId: dispatch.DefinitionVersionId);
        delivery.Id = request.InstanceId; // the started instance takes the delivery's id: the child's, which the parent's bookmark names
        return (stimulus, delivery);
    }

    /// <summary>
    /// The start a <see cref="DeliveryKind.StartChild"/> delivery makes, from what its stimulus carries: the real input
    /// when it was sealed, and the secrets to mask in the child's own data. A seal this process cannot open starts the
    /// child faulted, saying which inputs and why, rather than running it on the masks.
    /// </summary>
    public static StartRun StartOf(Workflow workflow, JsonObject? carried, string? correlationId, string deliveryId, DispatchedInputSeal seal)
    {
        var input = (carried?["input"] as JsonObject ?? []).ToDictionary(p => p.Key, p => p.Value?.DeepClone());
        string[] secrets = [];
        Exception? refusal = null;
        if (carried?[SealedKey] is JsonValue sealedInput)
        {
            try
            {
                (input, secrets) = seal.Open(sealedInput.GetValue<string>(), (carried[MaskedKey] as JsonArray ?? []).Select(n => n!.GetValue<string>()));
            }
            catch (InvalidOperationException e)
            {
                refusal = e;
            }
        }
        return new StartRun(workflow)
        {
            Input = input, Secrets = secrets, Refusal = refusal,
            Properties = carried?["properties"]?.DeepClone() as JsonObject,
            CorrelationId = correlationId,
            DeliveryId = deliveryId,
        };
    }
}
