using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Studio's instance-list row (docs/architecture.md, "The Elsa server API Studio uses").</summary>
public sealed record WorkflowInstanceSummary(
    string Id,
    string DefinitionId,
    string DefinitionVersionId,
    int Version,
    WorkflowStatus Status,
    WorkflowSubStatus SubStatus,
    string? CorrelationId,
    string? Name,
    int IncidentCount,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt);

public sealed record WorkflowInstanceQuery
{
    public string? SearchTerm { get; init; }
    public IReadOnlyCollection<string>? DefinitionIds { get; init; }
    public string? CorrelationId { get; init; }
    public int? Version { get; init; }
    public bool? HasIncidents { get; init; }
    public IReadOnlyCollection<WorkflowStatus>? Statuses { get; init; }
    public IReadOnlyCollection<WorkflowSubStatus>? SubStatuses { get; init; }
    public int Page { get; init; }
    public int PageSize { get; init; } = 50;
    /// <summary>Newest first unless false.</summary>
    public bool Descending { get; init; } = true;
}

public sealed record JournalQuery
{
    public IReadOnlyCollection<string>? ActivityNodeIds { get; init; }
    public IReadOnlyCollection<string>? ExcludedActivityTypes { get; init; }
    public IReadOnlyCollection<string>? EventNames { get; init; }
    public int Skip { get; init; }
    public int Take { get; init; } = 100;
}

/// <summary>Read side: instances, their state, journal, activity executions and variables.</summary>
public sealed class WorkflowInstanceStore
{
    private readonly IDbContextFactory<WorkflowDbContext> _db;

    internal WorkflowInstanceStore(IDbContextFactory<WorkflowDbContext> db) => _db = db;

    public async Task<PagedResult<WorkflowInstanceSummary>> ListAsync(WorkflowInstanceQuery query, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var rows = db.Instances.AsNoTracking();
        if (query.DefinitionIds is { Count: > 0 } definitionIds) rows = rows.Where(i => definitionIds.Contains(i.DefinitionId));
        if (query.CorrelationId != null) rows = rows.Where(i => i.CorrelationId == query.CorrelationId);
        if (query.Version != null) rows = rows.Where(i => i.Version == query.Version);
        if (query.HasIncidents is { } incidents) rows = incidents ? rows.Where(i => i.IncidentCount > 0) : rows.Where(i => i.IncidentCount == 0);
        if (query.Statuses is { Count: > 0 } statuses)
        {
            var names = statuses.Select(s => s.ToString()).ToList();
            rows = rows.Where(i => names.Contains(i.Status));
        }
        if (query.SubStatuses is { Count: > 0 } subStatuses)
        {
            var names = subStatuses.Select(s => s.ToString()).ToList();
            rows = rows.Where(i => names.Contains(i.SubStatus));
        }
        if (!string.IsNullOrWhiteSpace(query.SearchTerm))
            rows = rows.Where(i => i.Id == query.SearchTerm || i.CorrelationId == query.SearchTerm || (i.Name != null && i.Name.Contains(query.SearchTerm)));
        var total = await rows.LongCountAsync(cancellationToken);
        rows = query.Descending ? rows.OrderByDescending(i => i.CreatedAt) : rows.OrderBy(i => i.CreatedAt);
        var page = await rows.Skip(query.Page * query.PageSize).Take(query.PageSize)
            .Select(i => new { i.Id, i.DefinitionId, i.DefinitionVersionId, i.Version, i.Status, i.SubStatus, i.CorrelationId, i.Name, i.IncidentCount, i.CreatedAt, i.UpdatedAt, i.FinishedAt })
            .ToListAsync(cancellationToken);
        return new PagedResult<WorkflowInstanceSummary>(page.Select(i => new WorkflowInstanceSummary(
            i.Id, i.DefinitionId, i.DefinitionVersionId, i.Version, Enum.Parse<WorkflowStatus>(i.Status), Enum.Parse<WorkflowSubStatus>(i.SubStatus),
            i.CorrelationId, i.Name, i.IncidentCount, DbTime.FromDb(i.CreatedAt), DbTime.FromDb(i.UpdatedAt), DbTime.FromDb(i.FinishedAt))).ToList(), total);
    }

    /// <summary>The full state (Studio's <c>workflowState</c>), or null.</summary>
    public async Task<WorkflowState?> GetStateAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var row = await db.Instances.AsNoTracking().FirstOrDefaultAsync(i => i.Id == instanceId, cancellationToken);
        if (row is null) return null;
        var state = RuntimeRows.ReadState(row);
        // The row's status is the live one: it says Executing while a run holds the lease.
        state.SubStatus = Enum.Parse<WorkflowSubStatus>(row.SubStatus);
        return state;
    }

    public async Task<IReadOnlyDictionary<string, JsonNode?>?> GetVariablesAsync(string instanceId, CancellationToken cancellationToken = default) =>
        (await GetStateAsync(instanceId, cancellationToken))?.Variables;

    public async Task<PagedResult<WorkflowExecutionLogRecord>> GetJournalAsync(string instanceId, JournalQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new JournalQuery();
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var rows = db.Journal.AsNoTracking().Where(j => j.InstanceId == instanceId);
        if (query.ActivityNodeIds is { Count: > 0 } nodeIds) rows = rows.Where(j => nodeIds.Contains(j.NodeId));
        if (query.ExcludedActivityTypes is { Count: > 0 } excluded) rows = rows.Where(j => !excluded.Contains(j.ActivityType));
        if (query.EventNames is { Count: > 0 } eventNames) rows = rows.Where(j => eventNames.Contains(j.EventName));
        var total = await rows.LongCountAsync(cancellationToken);
        var page = await rows.OrderBy(j => j.Sequence).Skip(query.Skip).Take(query.Take).Select(j => j.Json).ToListAsync(cancellationToken);
        return new PagedResult<WorkflowExecutionLogRecord>(page.Select(j => JsonSerializer.Deserialize<WorkflowExecutionLogRecord>(j, WorkflowJson.Options)!).ToList(), total);
    }

    public async Task<IReadOnlyList<ActivityExecutionRecord>> GetActivityExecutionsAsync(string instanceId, string? activityNodeId = null, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var rows = db.Executions.AsNoTracking().Where(e => e.InstanceId == instanceId);
        if (activityNodeId != null) rows = rows.Where(e => e.NodeId == activityNodeId);
        var json = await rows.OrderBy(e => e.StartedAt).Select(e => e.Json).ToListAsync(cancellationToken);
        return json.Select(j => JsonSerializer.Deserialize<ActivityExecutionRecord>(j, WorkflowJson.Options)!).ToList();
    }

    /// <summary>Deletes an instance with its bookmarks, journal and execution records.</summary>
    public async Task<bool> DeleteAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Bookmarks.Where(b => b.InstanceId == instanceId).ExecuteDeleteAsync(cancellationToken);
        await db.Journal.Where(j => j.InstanceId == instanceId).ExecuteDeleteAsync(cancellationToken);
        await db.Executions.Where(e => e.InstanceId == instanceId).ExecuteDeleteAsync(cancellationToken);
        var deleted = await db.Instances.Where(i => i.Id == instanceId).ExecuteDeleteAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return deleted > 0;
    }

    /// <summary>Pending inbox entries (unmatched stimuli not yet expired), for diagnostics.</summary>
    public async Task<int> CountInboxAsync(CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        return await db.Stimuli.CountAsync(s => s.Status == StimulusStatus.Pending, cancellationToken);
    }
}
