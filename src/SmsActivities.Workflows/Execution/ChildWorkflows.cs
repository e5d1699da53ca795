using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace SmsActivities.Workflows.Execution;

/// <summary>A child instance to start for a parent activity (ExecuteWorkflow, DispatchWorkflow, a workflow used as an activity).</summary>
/// <param name="InstanceId">
/// The child's id, derived from the parent's activity execution (<see cref="ChildWorkflows.InstanceIdFor"/>): a parent
/// that runs the same activity again after a crash asks for the same child and is given the one already started.
/// </param>
public sealed record ChildWorkflowRequest(string DefinitionId, string ParentInstanceId, string InstanceId)
{
    public IReadOnlyDictionary<string, JsonNode?> Input { get; init; } = new Dictionary<string, JsonNode?>();
    public string? CorrelationId { get; init; }
    /// <summary>The parent waits: when the child finishes in a later run, it sends <see cref="ChildWorkflows.CompletedStimulusName"/> to the parent.</summary>
    public bool WaitForCompletion { get; init; }
    /// <summary>Values the parent marked secret: the child's stored data (and a dispatched child's queued input) never holds them.</summary>
    public IReadOnlyCollection<string> Secrets { get; init; } = [];
}

/// <summary>Where the child stands after its first run (it runs until it finishes or waits).</summary>
public sealed record ChildWorkflowRun(string InstanceId, WorkflowStatus Status, WorkflowSubStatus SubStatus, IReadOnlyDictionary<string, JsonNode?> Output);

/// <summary>A child to start once the parent's run is committed: the dispatcher starts it from a delivery written in that commit.</summary>
public sealed record ChildDispatch(string DefinitionVersionId, ChildWorkflowRequest Request);

/// <summary>Starts child instances of published definitions; the runtime provides it.</summary>
public interface IChildWorkflowStarter
{
    /// <summary>Starts the child now, inside the parent's run, or returns the child of that id if it was started before.</summary>
    /// <exception cref="KeyNotFoundException">The definition has no published version.</exception>
    Task<ChildWorkflowRun> StartAsync(ChildWorkflowRequest request, CancellationToken cancellationToken);

    /// <summary>Resolves the published version the child will run, for a start queued with the parent's commit.</summary>
    /// <exception cref="KeyNotFoundException">The definition has no published version.</exception>
    Task<ChildDispatch> PrepareDispatchAsync(ChildWorkflowRequest request, CancellationToken cancellationToken);
}

/// <summary>How a child tells its waiting parent that it finished: a stimulus to the parent instance, committed with the child's last run.</summary>
public static class ChildWorkflows
{
    public const string CompletedStimulusName = "Elsa.ChildWorkflowCompleted";
    /// <summary>The name of the (never matched) stimulus row that carries a dispatched child's input to its start.</summary>
    internal const string DispatchStimulusName = "Elsa.DispatchWorkflow";
    internal const string ParentInstanceIdProperty = "parentInstanceId";
    internal const string WaitForCompletionProperty = "parentWaitsForCompletion";

    /// <summary>
    /// The id of the child that a parent's activity execution starts: the same for a re-run of that execution from the same
    /// committed state (its execution key does not change), different for each loop iteration.
    /// </summary>
    public static string InstanceIdFor(string parentInstanceId, string activityId, string executionKey) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"child\n{parentInstanceId}\n{activityId}\n{executionKey}")))[..32];

    /// <summary>The bookmark (and stimulus) payload naming the child.</summary>
    public static JsonObject Payload(string childInstanceId) => new() { ["childInstanceId"] = childInstanceId };

    /// <summary>Elsa's ExecuteWorkflowResult shape: the child's id, status and output.</summary>
    public static JsonObject Result(string instanceId, WorkflowStatus status, WorkflowSubStatus subStatus, IReadOnlyDictionary<string, JsonNode?> output, string? correlationId) => new()
    {
        ["workflowInstanceId"] = instanceId,
        ["status"] = status.ToString(),
        ["subStatus"] = subStatus.ToString(),
        ["output"] = new JsonObject(output.Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))),
        ["correlationId"] = correlationId,
    };

    /// <summary>The completion stimulus of a finished child whose parent waits; null when nobody waits for it.</summary>
    internal static Stimulus? CompletionOf(WorkflowState child)
    {
        if (child.Status != WorkflowStatus.Finished) return null;
        if (child.Properties[WaitForCompletionProperty] is not JsonValue waits || !waits.TryGetValue<bool>(out var wait) || !wait) return null;
        if (child.Properties[ParentInstanceIdProperty] is not JsonValue parent || !parent.TryGetValue<string>(out var parentId)) return null;
        // Recorded in the child's own commit (so a crash cannot lose it), kept in the inbox when the parent has not committed
        // its wait yet; the dedupe key makes a re-commit of the child harmless.
        return new Stimulus(CompletedStimulusName, Payload(child.Id), Result(child.Id, child.Status, child.SubStatus, child.Output, child.CorrelationId))
        {
            WorkflowInstanceId = parentId,
            DedupeKey = "child-completed:" + child.Id,
        };
    }

    /// <summary>What a started child carries so it can find its parent.</summary>
    internal static JsonObject PropertiesFor(ChildWorkflowRequest request) => new()
    {
        [ParentInstanceIdProperty] = request.ParentInstanceId,
        [WaitForCompletionProperty] = request.WaitForCompletion,
    };
}
