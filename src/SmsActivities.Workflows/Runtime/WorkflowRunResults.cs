using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Runtime;

public sealed record StartWorkflowRequest
{
    public IReadOnlyDictionary<string, object?>? Input { get; init; }
    public string? CorrelationId { get; init; }
    /// <summary>Which version to start; Elsa's server defaults to Published.</summary>
    public VersionOptions VersionOptions { get; init; } = VersionOptions.Published;
    /// <summary>The new instance's properties, as Elsa's run options set them (e.g. <c>Flowchart:ExecutionMode</c>).</summary>
    public IReadOnlyDictionary<string, object?>? Properties { get; init; }
}

/// <summary>Where an instance stands after a run.</summary>
public sealed record WorkflowRunResult(
    string InstanceId,
    WorkflowStatus Status,
    WorkflowSubStatus SubStatus,
    IReadOnlyDictionary<string, JsonNode?> Output,
    IReadOnlyList<Bookmark> Bookmarks,
    IReadOnlyList<WorkflowIncident> Incidents)
{
    internal static WorkflowRunResult From(WorkflowState state) =>
        new(state.Id, state.Status, state.SubStatus, state.Output, state.Bookmarks.ToList(), state.Incidents.ToList());
}

/// <summary>
/// What a stimulus did: <see cref="Duplicate"/> (its dedupe key was seen before), the runs it caused,
/// <see cref="Deferred"/> deliveries left to the retry loop (their instance was busy), and whether it
/// waits in the inbox because nothing matched yet.
/// </summary>
public sealed record StimulusResult(string? StimulusId, bool Duplicate, bool StoredInInbox, IReadOnlyList<WorkflowRunResult> Runs, int Deferred)
{
    /// <summary>Deliveries of a <see cref="Stimulus.DropWhenBusy"/> stimulus that found their instance busy and were dropped: nothing ran.</summary>
    public int Dropped { get; init; }

    /// <summary>Runs an accepted stimulus left to the dispatcher (<see cref="WorkflowRuntime.AcceptStimuliAsync"/>).</summary>
    public int Queued { get; init; }

    internal static StimulusResult Repeat { get; } = new(null, true, false, [], 0);
}

/// <summary>The instance is busy and its lease could not be had in time.</summary>
public sealed class WorkflowInstanceBusyException(string instanceId)
    : Exception($"Workflow instance {instanceId} is being executed elsewhere; try again.")
{
    public string InstanceId { get; } = instanceId;
}
