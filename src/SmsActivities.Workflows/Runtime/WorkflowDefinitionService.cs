using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Outcome of a save: the stored version, and why it could not be published if it could not.</summary>
public sealed record SaveDefinitionResult(WorkflowDefinition Definition, bool AlreadyPublished, IReadOnlyList<string> ValidationErrors);

/// <summary>A definition file the folder import refused, with every problem found in it.</summary>
public sealed record RejectedDefinitionFile(string File, IReadOnlyList<string> Errors);

/// <summary>Outcome of importing a folder of definitions: what was published and which files were refused.</summary>
public sealed record FolderImport(IReadOnlyList<SaveDefinitionResult> Published, IReadOnlyList<RejectedDefinitionFile> Rejected);

public sealed record DefinitionQuery
{
    public VersionOptions VersionOptions { get; init; } = VersionOptions.Latest;
    public IReadOnlyCollection<string>? DefinitionIds { get; init; }
    /// <summary>Version ids (<c>Ids</c> in Studio's query).</summary>
    public IReadOnlyCollection<string>? Ids { get; init; }
    public string? SearchTerm { get; init; }
    public int Page { get; init; }
    public int PageSize { get; init; } = 100;
    /// <summary>Created, Name or Version.</summary>
    public string? OrderBy { get; init; }
    public bool Descending { get; init; }
}

/// <summary>
/// Save / publish / retract / delete definitions with Elsa's versioning (docs/architecture.md, "The Elsa server API Studio uses"), and
/// hands the runtime materialized workflows (cached per version; code-first ones live in memory).
/// </summary>
public sealed class WorkflowDefinitionService
{
    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly WorkflowMaterializer _materializer;
    private readonly TriggerIndexer _indexer;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Workflow> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Workflow> _codeFirst = new(StringComparer.Ordinal);

    internal WorkflowDefinitionService(IDbContextFactory<WorkflowDbContext> db, WorkflowMaterializer materializer, TriggerIndexer indexer, TimeProvider time)
    {
        _db = db;
        _materializer = materializer;
        _indexer = indexer;
        _time = time;
    }

    /// <summary>Saves a draft (updating the latest draft in place, or starting version n+1 after a published one) and optionally publishes it.</summary>
    public async Task<SaveDefinitionResult> SaveAsync(WorkflowDefinition model, bool publish, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        var definition = model.Clone();
        if (string.IsNullOrWhiteSpace(definition.DefinitionId)) definition.DefinitionId = Guid.NewGuid().ToString("N");
        if (_codeFirst.ContainsKey(definition.DefinitionId))
            return new SaveDefinitionResult(definition, false, [$"Workflow '{definition.DefinitionId}' is defined in code and cannot be edited."]);
        var latest = await db.Definitions.Where(d => d.DefinitionId == definition.DefinitionId)
            .OrderByDescending(d => d.Version).FirstOrDefaultAsync(cancellationToken);
        DefinitionRow row;
        if (latest is { IsPublished: false })
        {
            row = latest;
        }
        else
        {
            if (latest != null) latest.IsLatest = false;
            row = new DefinitionRow
            {
                Id = latest is null && !string.IsNullOrWhiteSpace(definition.Id) && !await db.Definitions.AnyAsync(d => d.Id == definition.Id, cancellationToken)
                    ? definition.Id
                    : Guid.NewGuid().ToString("N"),
                DefinitionId = definition.DefinitionId,
                Version = (latest?.Version ?? 0) + 1,
                CreatedAt = DbTime.ToDb(_time.GetUtcNow()),
            };
            db.Definitions.Add(row);
        }
        row.IsLatest = true;
        row.Name = definition.Name;
        var errors = Validate(Stamp(definition, row));
        var alreadyPublished = row.IsPublished;
        if (publish && errors.Count == 0) await PublishRowAsync(db, row, definition, cancellationToken);
        row.Json = WorkflowJson.Serialize(Stamp(definition, row));
        await db.SaveChangesAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        _cache.TryRemove(row.Id, out _);
        return new SaveDefinitionResult(ToModel(row), alreadyPublished, errors);
    }

    /// <summary>Publishes the latest version. Throws <see cref="WorkflowValidationException"/> when it cannot run.</summary>
    public async Task<WorkflowDefinition> PublishAsync(string definitionId, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        var row = await db.Definitions.Where(d => d.DefinitionId == definitionId).OrderByDescending(d => d.Version).FirstOrDefaultAsync(cancellationToken)
                  ?? throw new KeyNotFoundException($"Workflow definition '{definitionId}' does not exist.");
        var definition = ToModel(row);
        var errors = Validate(definition);
        if (errors.Count > 0) throw new WorkflowValidationException(errors);
        await PublishRowAsync(db, row, definition, cancellationToken);
        row.Json = WorkflowJson.Serialize(Stamp(definition, row));
        await db.SaveChangesAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return ToModel(row);
    }

    private async Task PublishRowAsync(WorkflowDbContext db, DefinitionRow row, WorkflowDefinition definition, CancellationToken cancellationToken)
    {
        foreach (var other in await db.Definitions.Where(d => d.DefinitionId == row.DefinitionId && d.Id != row.Id).ToListAsync(cancellationToken))
            other.IsLatest = other.IsPublished = false;
        row.IsLatest = row.IsPublished = true;
        var workflow = _materializer.Materialize(Stamp(definition, row));
        await ReplaceTriggersAsync(db, row.DefinitionId, workflow, cancellationToken);
    }

    /// <summary>Unpublishes: the definition stops starting new instances; running instances continue.</summary>
    public async Task RetractAsync(string definitionId, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        foreach (var row in await db.Definitions.Where(d => d.DefinitionId == definitionId && d.IsPublished).ToListAsync(cancellationToken))
        {
            row.IsPublished = false;
            row.Json = WorkflowJson.Serialize(Stamp(ToModel(row), row));
        }
        db.Triggers.RemoveRange(db.Triggers.Where(t => t.DefinitionId == definitionId));
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Deletes every version and the triggers. Instances keep running on their (cached or reloaded) version until it is gone.</summary>
    public async Task<bool> DeleteAsync(string definitionId, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var rows = await db.Definitions.Where(d => d.DefinitionId == definitionId).ToListAsync(cancellationToken);
        db.Definitions.RemoveRange(rows);
        db.Triggers.RemoveRange(db.Triggers.Where(t => t.DefinitionId == definitionId));
        await db.SaveChangesAsync(cancellationToken);
        foreach (var row in rows) _cache.TryRemove(row.Id, out _);
        return rows.Count > 0;
    }

    public async Task<WorkflowDefinition?> GetAsync(string definitionId, VersionOptions versionOptions, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var row = await Filter(db.Definitions.Where(d => d.DefinitionId == definitionId), versionOptions)
            .OrderByDescending(d => d.Version).FirstOrDefaultAsync(cancellationToken);
        return row is null ? null : ToModel(row);
    }

    public async Task<WorkflowDefinition?> GetByIdAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var row = await db.Definitions.FirstOrDefaultAsync(d => d.Id == id, cancellationToken);
        return row is null ? null : ToModel(row);
    }

    public async Task<PagedResult<WorkflowDefinition>> ListAsync(DefinitionQuery query, CancellationToken cancellationToken = default)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var rows = Filter(db.Definitions.AsQueryable(), query.VersionOptions);
        if (query.DefinitionIds is { Count: > 0 } definitionIds) rows = rows.Where(d => definitionIds.Contains(d.DefinitionId));
        if (query.Ids is { Count: > 0 } ids) rows = rows.Where(d => ids.Contains(d.Id));
        if (!string.IsNullOrWhiteSpace(query.SearchTerm)) rows = rows.Where(d => d.Name != null && d.Name.Contains(query.SearchTerm));
        var total = await rows.LongCountAsync(cancellationToken);
        rows = (query.OrderBy?.ToLowerInvariant(), query.Descending) switch
        {
            ("name", false) => rows.OrderBy(d => d.Name),
            ("name", true) => rows.OrderByDescending(d => d.Name),
            ("version", false) => rows.OrderBy(d => d.Version),
            ("version", true) => rows.OrderByDescending(d => d.Version),
            (_, true) => rows.OrderByDescending(d => d.CreatedAt),
            _ => rows.OrderBy(d => d.CreatedAt),
        };
        var page = await rows.Skip(query.Page * query.PageSize).Take(query.PageSize).ToListAsync(cancellationToken);
        return new PagedResult<WorkflowDefinition>(page.Select(ToModel).ToList(), total);
    }

    /// <summary>
    /// Saves and publishes every <c>*.json</c> of a folder. A file equal to the published version is left
    /// alone, so restarts do not pile up versions. A file that cannot be read or published is skipped and reported
    /// with every problem found in it; the other files still load.
    /// </summary>
    public async Task<FolderImport> ImportFolderAsync(string folder, CancellationToken cancellationToken = default)
    {
        var published = new List<SaveDefinitionResult>();
        var rejected = new List<RejectedDefinitionFile>();
        if (Directory.Exists(folder))
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*.json").Order(StringComparer.Ordinal))
            {
                WorkflowDefinition model;
                try { model = WorkflowJson.Deserialize(await File.ReadAllTextAsync(file, cancellationToken)); }
                catch (System.Text.Json.JsonException e)
                {
                    rejected.Add(new RejectedDefinitionFile(file, [$"not a workflow definition: {e.Message}"]));
                    continue;
                }
                if (string.IsNullOrWhiteSpace(model.DefinitionId)) model.DefinitionId = Path.GetFileNameWithoutExtension(file);
                var current = await GetAsync(model.DefinitionId, VersionOptions.Published, cancellationToken);
                if (current != null && Content(current) == Content(model)) continue;
                var result = await SaveAsync(model, publish: true, cancellationToken);
                if (result.ValidationErrors.Count > 0) rejected.Add(new RejectedDefinitionFile(file, result.ValidationErrors));
                else published.Add(result);
            }
        }
        LastFolderImport = new FolderImport(published, rejected);
        return LastFolderImport;
    }

    /// <summary>What the last <see cref="ImportFolderAsync"/> published and refused (health checks report the refusals).</summary>
    public FolderImport? LastFolderImport { get; private set; }

    /// <summary>The definition's content without version bookkeeping.</summary>
    private static string Content(WorkflowDefinition definition)
    {
        var node = JsonNode.Parse(WorkflowJson.Serialize(definition))!.AsObject();
        foreach (var key in new[] { "id", "version", "isLatest", "isPublished", "createdAt", "links" }) node.Remove(key);
        return WorkflowJson.Canonicalize(node);
    }

    // ---- for the runtime ----

    internal async Task RegisterCodeFirstAsync(Workflow workflow, CancellationToken cancellationToken)
    {
        _codeFirst[workflow.DefinitionId] = workflow;
        _cache[workflow.DefinitionVersionId] = workflow;
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        await ReplaceTriggersAsync(db, workflow.DefinitionId, workflow, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Code-first workflows registered at start.</summary>
    public IReadOnlyCollection<Workflow> CodeFirstWorkflows => _codeFirst.Values.ToList();

    internal async Task<Workflow?> FindWorkflowAsync(string definitionId, VersionOptions versionOptions, CancellationToken cancellationToken)
    {
        if (_codeFirst.TryGetValue(definitionId, out var code)) return code;
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var row = await Filter(db.Definitions.Where(d => d.DefinitionId == definitionId), versionOptions)
            .OrderByDescending(d => d.Version).FirstOrDefaultAsync(cancellationToken);
        return row is null ? null : Materialize(row);
    }

    internal async Task<Workflow> GetWorkflowAsync(string definitionVersionId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(definitionVersionId, out var cached)) return cached;
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var row = await db.Definitions.FirstOrDefaultAsync(d => d.Id == definitionVersionId, cancellationToken)
                  ?? throw new KeyNotFoundException($"Workflow definition version '{definitionVersionId}' does not exist.");
        return Materialize(row);
    }

    private Workflow Materialize(DefinitionRow row) => _cache.GetOrAdd(row.Id, _ => _materializer.Materialize(ToModel(row)));

    private async Task ReplaceTriggersAsync(WorkflowDbContext db, string definitionId, Workflow workflow, CancellationToken cancellationToken)
    {
        await db.Triggers.Where(t => t.DefinitionId == definitionId).ExecuteDeleteAsync(cancellationToken);
        foreach (var trigger in _indexer.GetTriggers(workflow))
            db.Triggers.Add(new TriggerRow
            {
                Id = Guid.NewGuid().ToString("N"), DefinitionId = definitionId, DefinitionVersionId = workflow.DefinitionVersionId,
                ActivityId = trigger.ActivityId, Name = trigger.Name, Hash = trigger.Hash, PayloadJson = trigger.Payload?.ToJsonString(),
                RouteKey = HttpRouteKey.Of(trigger.Name, trigger.Payload),
            });
    }

    private IReadOnlyList<string> Validate(WorkflowDefinition definition)
    {
        try
        {
            _materializer.Materialize(definition);
            return [];
        }
        catch (WorkflowValidationException e)
        {
            return e.Errors;
        }
    }

    private static IQueryable<DefinitionRow> Filter(IQueryable<DefinitionRow> rows, VersionOptions options) => options.Kind switch
    {
        "Latest" => rows.Where(d => d.IsLatest),
        "Published" => rows.Where(d => d.IsPublished),
        "LatestOrPublished" => rows.Where(d => d.IsLatest || d.IsPublished),
        "LatestAndPublished" => rows.Where(d => d.IsLatest && d.IsPublished),
        "Draft" => rows.Where(d => !d.IsPublished),
        "SpecificVersion" => rows.Where(d => d.Version == options.Version),
        _ => rows,
    };

    private static WorkflowDefinition Stamp(WorkflowDefinition definition, DefinitionRow row)
    {
        definition.Id = row.Id;
        definition.DefinitionId = row.DefinitionId;
        definition.Version = row.Version;
        definition.IsLatest = row.IsLatest;
        definition.IsPublished = row.IsPublished;
        definition.CreatedAt = DbTime.FromDb(row.CreatedAt);
        return definition;
    }

    private static WorkflowDefinition ToModel(DefinitionRow row) => Stamp(WorkflowJson.Deserialize(row.Json), row);
}
