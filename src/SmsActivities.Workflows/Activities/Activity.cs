using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Activities;

/// <summary>
/// Base of every activity. Instances are built once per definition version and shared by all its
/// workflow instances, so activities keep no per-run state in fields: state lives in the
/// <see cref="ActivityExecutionContext"/> (its <c>Properties</c>, variables and outputs).
/// </summary>
public abstract class Activity
{
    public string Id { get; set; } = "";
    /// <summary>Path-like unique id, <c>Workflow1:Flowchart1:WriteLine1</c>, as Studio addresses nodes.</summary>
    public string NodeId { get; internal set; } = "";
    public string? Name { get; set; }
    public string Type { get; internal set; }
    public int Version { get; internal set; } = 1;
    public JsonObject CustomProperties { get; set; } = [];
    public JsonObject Metadata { get; set; } = [];
    /// <summary>Whether this trigger starts new instances (Elsa's <c>customProperties.canStartWorkflow</c>).</summary>
    public bool CanStartWorkflow
    {
        get => CustomProperties["canStartWorkflow"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
        set => CustomProperties["canStartWorkflow"] = value;
    }

    /// <summary>
    /// Elsa's <c>customProperties.runAsynchronously</c>: the run that reaches this activity commits and ends there, and
    /// the activity executes in a background run right after (e.g. a long send after the HTTP answer was written).
    /// </summary>
    public bool RunAsynchronously
    {
        get => CustomProperties["runAsynchronously"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
        set => CustomProperties["runAsynchronously"] = value;
    }

    /// <summary>The container this activity sits in (null for the root).</summary>
    public Activity? Parent { get; internal set; }

    protected Activity() => Type = ActivityTypeInfo.TypeNameOf(GetType());

    /// <summary>
    /// Runs the activity. If it returns without completing, without bookmarks and without scheduled
    /// children, the engine completes it with <c>Done</c>.
    /// </summary>
    protected abstract ValueTask ExecuteAsync(ActivityExecutionContext context);

    internal ValueTask RunAsync(ActivityExecutionContext context) => ExecuteAsync(context);

    /// <summary>Called on a container when one of the children it scheduled completes.</summary>
    protected virtual ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ActivityExecutionContext child) =>
        ValueTask.CompletedTask;

    internal ValueTask NotifyChildCompletedAsync(ActivityExecutionContext context, ActivityExecutionContext child) => OnChildCompletedAsync(context, child);

    public override string ToString() => $"{Type} '{Id}'";
}

/// <summary>
/// An activity that can start workflows. The payloads it returns are indexed (hash of type + payload)
/// when its definition is published; a stimulus with an equal payload starts the workflow.
/// </summary>
public abstract class Trigger : Activity
{
    protected abstract IEnumerable<object> GetTriggerPayloads(TriggerIndexingContext context);

    internal IEnumerable<object> GetPayloads(TriggerIndexingContext context) => GetTriggerPayloads(context);
}

/// <summary>What a trigger may read while its payloads are computed: inputs evaluated without a running instance.</summary>
public sealed class TriggerIndexingContext(Func<Input, object?> evaluate)
{
    public T? Get<T>(Input<T>? input) => input is null ? default : (T?)evaluate(input);
}
