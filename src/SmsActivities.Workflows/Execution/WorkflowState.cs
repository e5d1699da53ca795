using System.Text.Json.Nodes;

namespace SmsActivities.Workflows.Execution;

public enum WorkflowStatus { Running, Finished }

public enum WorkflowSubStatus { Pending, Executing, Suspended, Finished, Cancelled, Faulted, Interrupted }

public enum ActivityStatus { Pending, Running, Completed, Canceled, Faulted }

/// <summary>
/// Everything needed to continue an instance, persisted as JSON at every suspension. Its shape is
/// the <c>workflowState</c> Studio's instance viewer reads (docs/architecture.md, "The Elsa server API Studio uses"), plus variables and
/// activity outputs.
/// </summary>
public sealed class WorkflowState
{
    public string Id { get; set; } = "";
    public string DefinitionId { get; set; } = "";
    public string DefinitionVersionId { get; set; } = "";
    public int DefinitionVersion { get; set; }
    public string? CorrelationId { get; set; }
    public string? Name { get; set; }
    public WorkflowStatus Status { get; set; }
    public WorkflowSubStatus SubStatus { get; set; }
    public List<Bookmark> Bookmarks { get; set; } = [];
    public List<WorkflowIncident> Incidents { get; set; } = [];
    public ExceptionState? Fault { get; set; }
    public List<JsonNode> CompletionCallbacks { get; set; } = [];
    public List<ActivityExecutionContextState> ActivityExecutionContexts { get; set; } = [];
    public Dictionary<string, JsonNode?> Input { get; set; } = [];
    public Dictionary<string, JsonNode?> Output { get; set; } = [];
    public Dictionary<string, JsonNode?> Variables { get; set; } = [];
    /// <summary>Last outputs of each activity, by activity id.</summary>
    public Dictionary<string, JsonObject> ActivityOutputs { get; set; } = [];
    public JsonObject Properties { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
}

/// <summary>A live (not yet completed) activity execution, kept across suspensions.</summary>
public sealed class ActivityExecutionContextState
{
    public string Id { get; set; } = "";
    public string? ParentContextId { get; set; }
    public string ActivityId { get; set; } = "";
    public string ActivityNodeId { get; set; } = "";
    public string ActivityType { get; set; } = "";
    public ActivityStatus Status { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public JsonObject Properties { get; set; } = [];
    /// <summary>See <see cref="ActivityExecutionContext.ExecutionKey"/>; null in states saved before it existed.</summary>
    public string? ExecutionKey { get; set; }
}

/// <summary>
/// A point where an instance waits. <see cref="Hash"/> is the stable hash of (name = activity type,
/// payload) a stimulus must match; <see cref="DueAt"/> makes it a timer.
/// </summary>
public sealed record Bookmark(
    string Id,
    string Name,
    string Hash,
    JsonNode? Payload,
    string ActivityId,
    string ActivityNodeId,
    string ActivityInstanceId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DueAt = null,
    string? CallbackMethodName = null,
    bool AutoBurn = true);

public sealed record ExceptionState(string Type, string Message, string? StackTrace)
{
    public static ExceptionState From(Exception e) => new(e.GetType().FullName ?? e.GetType().Name, e.Message, e.StackTrace);
}

public sealed record WorkflowIncident(
    string ActivityId,
    string ActivityNodeId,
    string ActivityType,
    string Message,
    ExceptionState? Exception,
    DateTimeOffset Timestamp);

/// <summary>One journal line, in the shape of Studio's journal (docs/architecture.md, "The Elsa server API Studio uses").</summary>
public sealed record WorkflowExecutionLogRecord(
    string Id,
    string WorkflowInstanceId,
    string ActivityInstanceId,
    string? ParentActivityInstanceId,
    string ActivityId,
    string ActivityType,
    int ActivityTypeVersion,
    string? ActivityName,
    string NodeId,
    DateTimeOffset Timestamp,
    long Sequence,
    string EventName,
    string? Message,
    string? Source,
    JsonObject? ActivityState,
    JsonNode? Payload);

/// <summary>One execution of one activity (Studio's <c>activity-executions</c> records).</summary>
public sealed class ActivityExecutionRecord
{
    public string Id { get; set; } = "";
    public string WorkflowInstanceId { get; set; } = "";
    public string ActivityId { get; set; } = "";
    public string ActivityNodeId { get; set; } = "";
    public string ActivityType { get; set; } = "";
    public int ActivityTypeVersion { get; set; } = 1;
    public string? ActivityName { get; set; }
    /// <summary>Evaluated inputs, sensitive ones masked.</summary>
    public JsonObject? ActivityState { get; set; }
    public JsonNode? Payload { get; set; }
    public JsonObject? Outputs { get; set; }
    public JsonObject Properties { get; set; } = [];
    public JsonObject Metadata { get; set; } = [];
    public ExceptionState? Exception { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public bool HasBookmarks { get; set; }
    public ActivityStatus Status { get; set; }
    public int AggregateFaultCount { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public List<string> Outcomes { get; set; } = [];
}
