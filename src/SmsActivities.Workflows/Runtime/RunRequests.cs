using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>A new instance of <see cref="Workflow"/>: started directly (no delivery) or by a trigger's delivery.</summary>
internal sealed record StartRun(Workflow Workflow)
{
    public IReadOnlyDictionary<string, JsonNode?> Input { get; init; } = new Dictionary<string, JsonNode?>();
    public string? CorrelationId { get; init; }
    /// <summary>The trigger that matched, and what its stimulus brought.</summary>
    public string? TriggerActivityId { get; init; }
    public JsonObject? TriggerInput { get; init; }
    /// <summary>
    /// The delivery that starts it. The instance is named after it, so a retry after a crash re-creates the same
    /// instance (same execution keys), and the commit removes it.
    /// </summary>
    public string? DeliveryId { get; init; }
    /// <summary>Copied into the new instance's state properties (e.g. the parent a child workflow reports to).</summary>
    public JsonObject? Properties { get; init; }
    /// <summary>
    /// Without a delivery: the instance's id, kept as its start key too, so a second start of that id is refused by the
    /// database instead of making a twin (a child started again by a parent re-running after a crash).
    /// </summary>
    public string? InstanceId { get; init; }
    /// <summary>Values to mask wherever the run's data is stored (a child's: those its parent marked secret).</summary>
    public IReadOnlyCollection<string> Secrets { get; init; } = [];
    /// <summary>A child started inline by its parent's activity, which reads this first run's result itself.</summary>
    public bool ParentReadsFirstRun { get; init; }
    /// <summary>Why the start cannot be made as asked: the instance is created faulted at its root with this as its incident.</summary>
    public Exception? Refusal { get; init; }
}

/// <summary>One bookmark to resume, directly or for a delivery.</summary>
internal sealed record ResumeRun(string BookmarkId)
{
    public JsonObject? Input { get; init; }
    public string? DeliveryId { get; init; }
    /// <summary>Known when the delivery was just recorded: spares the resume looking its target up again.</summary>
    public ResumeTarget? Target { get; init; }
    /// <summary>A direct resume throws <see cref="WorkflowInstanceBusyException"/>; a delivery is deferred instead.</summary>
    public bool ThrowWhenBusy { get; init; }
}

/// <summary>The instance a delivery's bookmark belongs to and the hash of its stimulus.</summary>
internal sealed record ResumeTarget(string InstanceId, string StimulusHash);

/// <summary>What one run did, and the work its commit left for after the instance was released.</summary>
internal sealed record RunOutcome(WorkflowRunResult? Result, bool Deferred, IReadOnlyList<FollowUp> FollowUps)
{
    public static RunOutcome Nothing { get; } = new(null, false, []);
    public static RunOutcome Busy { get; } = new(null, true, []);
}

/// <summary>
/// Work a commit leaves for after the locks are released: a delivery written in the commit (an inbox match to resume,
/// or what a stimulus the run published is owed), run inline at once; the dispatcher runs it if this process dies first.
/// </summary>
internal sealed record FollowUp(DeliveryRow Delivery, JsonObject? Input, string? CorrelationId = null);
