namespace SmsActivities.Workflows.Persistence;

// Table rows. Times are Unix milliseconds (UTC) so comparisons and ordering translate identically on
// SQLite (which cannot compare DateTimeOffset) and PostgreSQL.

internal sealed class DefinitionRow
{
    public string Id { get; set; } = "";
    public string DefinitionId { get; set; } = "";
    public int Version { get; set; }
    public bool IsLatest { get; set; }
    public bool IsPublished { get; set; }
    public string? Name { get; set; }
    public long CreatedAt { get; set; }
    public string Json { get; set; } = "";
}

internal sealed class InstanceRow
{
    public string Id { get; set; } = "";
    public string DefinitionId { get; set; } = "";
    public string DefinitionVersionId { get; set; } = "";
    public int Version { get; set; }
    public string Status { get; set; } = "";
    public string SubStatus { get; set; } = "";
    public string? CorrelationId { get; set; }
    public string? Name { get; set; }
    public int IncidentCount { get; set; }
    public long CreatedAt { get; set; }
    public long UpdatedAt { get; set; }
    public long? FinishedAt { get; set; }
    /// <summary>The state without the workflow's input (see <see cref="InputJson"/>).</summary>
    public string StateJson { get; set; } = "";
    /// <summary>
    /// The workflow's input, written once when the instance is created: a campaign's input (thousands of numbers) would
    /// otherwise be read and rewritten by every commit. Null in rows from before the column, whose input is in the state.
    /// </summary>
    public string? InputJson { get; set; }
    public string? LeaseOwner { get; set; }
    public long? LeaseExpiresAt { get; set; }
    /// <summary>Set when a stimulus delivery started the instance, so a retried delivery cannot start it twice.</summary>
    public string? StartKey { get; set; }
}

internal sealed class BookmarkRow
{
    public string Id { get; set; } = "";
    public string InstanceId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Hash { get; set; } = "";
    public string? PayloadJson { get; set; }
    public string ActivityInstanceId { get; set; } = "";
    public string? CorrelationId { get; set; }
    public long CreatedAt { get; set; }
    public long? DueAt { get; set; }
    /// <summary>For HTTP endpoints: the indexed route key a request looks them up by (see HttpRouteKey).</summary>
    public string? RouteKey { get; set; }
}

internal sealed class TriggerRow
{
    public string Id { get; set; } = "";
    public string DefinitionId { get; set; } = "";
    public string DefinitionVersionId { get; set; } = "";
    public string ActivityId { get; set; } = "";
    public string Name { get; set; } = "";
    public string Hash { get; set; } = "";
    public string? PayloadJson { get; set; }
    /// <summary>For HTTP endpoints: the indexed route key a request looks them up by (see HttpRouteKey).</summary>
    public string? RouteKey { get; set; }
}

internal enum StimulusStatus { Pending = 0, Consumed = 1 }

internal sealed class StimulusRow
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Hash { get; set; } = "";
    public string? PayloadJson { get; set; }
    public string? InputJson { get; set; }
    public string? CorrelationId { get; set; }
    public string? DedupeKey { get; set; }
    public StimulusStatus Status { get; set; }
    public long ReceivedAt { get; set; }
    public long ExpiresAt { get; set; }
    /// <summary>
    /// For a named stimulus (one with a <see cref="DedupeKey"/>) that started or resumed one instance: that instance, so
    /// a repeat the key turns away can be given its answer (an idempotent HTTP request that resumed a waiting workflow).
    /// </summary>
    public string? InstanceId { get; set; }
}

/// <summary>
/// What a delivery does: resume a bookmark, start a triggered workflow, or start a child a parent dispatched (its input
/// and parent link are in the stimulus's input).
/// </summary>
internal enum DeliveryKind { Resume = 0, Start = 1, StartChild = 2 }

/// <summary>
/// A unit of work owed to a stimulus (start this trigger / resume this bookmark), written in the same
/// transaction that matched them and deleted in the transaction that commits the run: at-least-once
/// across crashes, and never twice thanks to the bookmark burn and <see cref="InstanceRow.StartKey"/>.
/// </summary>
internal sealed class DeliveryRow
{
    public string Id { get; set; } = "";
    public string StimulusId { get; set; } = "";
    public DeliveryKind Kind { get; set; }
    public string? BookmarkId { get; set; }
    public string? InstanceId { get; set; }
    public string? DefinitionVersionId { get; set; }
    public string? TriggerActivityId { get; set; }
    public long CreatedAt { get; set; }
    public long NextAttemptAt { get; set; }
    public int Attempts { get; set; }
}

internal sealed class JournalRow
{
    public string Id { get; set; } = "";
    public string InstanceId { get; set; } = "";
    public long Sequence { get; set; }
    public string NodeId { get; set; } = "";
    public string ActivityType { get; set; } = "";
    public string EventName { get; set; } = "";
    public string Json { get; set; } = "";
}

internal sealed class ExecutionRow
{
    public string Id { get; set; } = "";
    public string InstanceId { get; set; } = "";
    public string NodeId { get; set; } = "";
    public long StartedAt { get; set; }
    public string Json { get; set; } = "";
}

/// <summary>
/// An alteration plan (Elsa's shape: the alterations and the instance filter as JSON), leased by the node running it
/// so a plan whose node died is taken over once the lease expires.
/// </summary>
internal sealed class AlterationPlanRow
{
    public string Id { get; set; } = "";
    public string AlterationsJson { get; set; } = "";
    public string FilterJson { get; set; } = "";
    public string Status { get; set; } = "";
    public long CreatedAt { get; set; }
    public long? StartedAt { get; set; }
    public long? CompletedAt { get; set; }
    public string? LeaseOwner { get; set; }
    public long? LeaseExpiresAt { get; set; }
}

/// <summary>One instance of a plan. Marked completed in the transaction that commits the alteration.</summary>
internal sealed class AlterationJobRow
{
    public string Id { get; set; } = "";
    public string PlanId { get; set; } = "";
    public int Sequence { get; set; }
    public string WorkflowInstanceId { get; set; } = "";
    public string Status { get; set; } = "";
    public string? LogJson { get; set; }
    public long CreatedAt { get; set; }
    public long? StartedAt { get; set; }
    public long? CompletedAt { get; set; }
}
