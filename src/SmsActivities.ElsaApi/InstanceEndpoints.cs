using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// Running workflows and looking at instances (docs/architecture.md, "The Elsa server API Studio uses"): execute, instance list,
/// instance with its state, journal, variables, execution state, activity executions and their report,
/// cancel and delete — on the runtime's <see cref="WorkflowRuntime"/> and <see cref="WorkflowInstanceStore"/>.
/// </summary>
public static class InstanceEndpoints
{
    public const string InstanceIdHeader = "x-elsa-workflow-instance-id";
    public const string CannotStartHeader = "x-elsa-workflow-cannot-start";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/workflow-definitions/{definitionId}/execute", ExecuteAsync).WithTags("Workflow definitions");
        api.MapPost("/workflow-definitions/{definitionId}/dispatch", ExecuteAsync).WithTags("Workflow definitions");

        var instances = api.MapGroup("/workflow-instances").WithTags("Workflow instances");
        instances.MapPost("", ListAsync);
        instances.MapGet("/{id}", async (string id, WorkflowInstanceStore store, CancellationToken ct) =>
            await store.GetStateAsync(id, ct) is { } state ? ElsaJson.Node(InstanceModel(state)) : DefinitionEndpoints.NotFound("instance", id));
        instances.MapDelete("/{id}", async (string id, WorkflowInstanceStore store, CancellationToken ct) =>
            await store.DeleteAsync(id, ct) ? Results.NoContent() : DefinitionEndpoints.NotFound("instance", id));
        instances.MapGet("/{id}/execution-state", async (string id, WorkflowInstanceStore store, CancellationToken ct) =>
            await store.GetStateAsync(id, ct) is { } state
                ? ElsaJson.Ok(new { status = state.Status, workflowSubStatus = state.SubStatus, updatedAt = state.UpdatedAt })
                : DefinitionEndpoints.NotFound("instance", id));
        instances.MapGet("/{id}/journal", JournalAsync);
        instances.MapPost("/{id}/journal", JournalAsync);
        instances.MapGet("/{id}/variables", VariablesAsync);

        api.MapPost("/cancel/workflow-instances/{id}", async (string id, WorkflowRuntime runtime, WorkflowInstanceStore store, CancellationToken ct) =>
        {
            if (await store.GetStateAsync(id, ct) is null) return DefinitionEndpoints.NotFound("instance", id);
            try
            {
                var cancelled = await runtime.CancelAsync(id, ct);
                return cancelled ? Results.Ok() : Results.Json(new { status = 409, title = "The instance has already ended." }, ElsaJson.Options, statusCode: StatusCodes.Status409Conflict);
            }
            catch (WorkflowInstanceBusyException e)
            {
                return Results.Json(new { status = 409, title = e.Message }, ElsaJson.Options, statusCode: StatusCodes.Status409Conflict);
            }
        }).WithTags("Workflow instances");
        api.MapPost("/bulk-actions/cancel/workflow-instances", async ([FromBody] BulkCancelRequest request, WorkflowRuntime runtime, WorkflowInstanceStore store,
            WorkflowDefinitionService definitions, CodeFirstDefinitions codeFirst, CancellationToken ct) =>
        {
            var ids = (request.Ids ?? []).ToList();
            // The definition list's "Cancel" menu item: every running instance of that definition version.
            if (!string.IsNullOrEmpty(request.DefinitionVersionId)
                && (await definitions.GetByIdAsync(request.DefinitionVersionId, ct) ?? codeFirst.FindVersion(request.DefinitionVersionId)) is { } version)
            {
                var running = await store.ListAsync(new WorkflowInstanceQuery
                {
                    DefinitionIds = [version.DefinitionId], Version = version.Version, Statuses = [WorkflowStatus.Running], PageSize = 10_000,
                }, ct);
                ids.AddRange(running.Items.Select(i => i.Id));
            }
            var count = 0;
            foreach (var id in ids.Distinct())
            {
                try { if (await runtime.CancelAsync(id, ct)) count++; }
                catch (WorkflowInstanceBusyException) { }
            }
            return ElsaJson.Ok(new { cancelledCount = count });
        }).WithTags("Workflow instances");
        api.MapPost("/bulk-actions/delete/workflow-instances/by-id", async ([FromBody] IdsRequest request, WorkflowInstanceStore store, CancellationToken ct) =>
        {
            var count = 0;
            foreach (var id in request.Ids ?? [])
                if (await store.DeleteAsync(id, ct)) count++;
            return ElsaJson.Ok(new { deletedCount = count });
        }).WithTags("Workflow instances");

        // Studio's instance list offers Import (the host page hides it). A faithful import is not possible here: a
        // running instance's bookmarks, timers, pending deliveries and lease belong to the runtime that ran it, and a
        // copy would be resumed twice or never. Answer why instead of 404.
        api.MapPost("/bulk-actions/import/workflow-instances", () => Results.Json(new
        {
            status = StatusCodes.Status501NotImplemented,
            title = "Importing workflow instances is not supported: an instance's bookmarks, timers and pending deliveries belong to the server that ran it. Run the workflow again instead.",
        }, ElsaJson.Options, statusCode: StatusCodes.Status501NotImplemented)).WithTags("Workflow instances");

        var executions = api.MapGroup("").WithTags("Activity executions");
        executions.MapGet("/activity-executions/list", async (string workflowInstanceId, string? activityNodeId, WorkflowInstanceStore store, ExecutionRecordIndex index, CancellationToken ct) =>
        {
            var records = await store.GetActivityExecutionsAsync(workflowInstanceId, activityNodeId, ct);
            index.Remember(records);
            return ElsaJson.Node(new JsonObject { ["items"] = new JsonArray(records.Select(r => (JsonNode)ExecutionRecord(r)).ToArray()), ["count"] = records.Count });
        });
        executions.MapGet("/activity-execution-summaries/list", async (string workflowInstanceId, string? activityNodeId, WorkflowInstanceStore store, ExecutionRecordIndex index, CancellationToken ct) =>
        {
            var records = await store.GetActivityExecutionsAsync(workflowInstanceId, activityNodeId, ct);
            index.Remember(records);
            return ElsaJson.Node(new JsonObject { ["items"] = new JsonArray(records.Select(r => (JsonNode)ExecutionSummary(r)).ToArray()), ["count"] = records.Count });
        });
        executions.MapPost("/activity-executions/report", ReportAsync);
        // The viewer fetches one record by id after listing them. The runtime's store looks records up by instance,
        // so the id is resolved through the instances of the records listed before (ExecutionRecordIndex).
        executions.MapGet("/activity-executions/by-id", async (string id, WorkflowInstanceStore store, ExecutionRecordIndex index, CancellationToken ct) =>
        {
            if (index.InstanceOf(id) is not { } instanceId) return DefinitionEndpoints.NotFound("activity execution", id);
            var record = (await store.GetActivityExecutionsAsync(instanceId, null, ct)).FirstOrDefault(r => r.Id == id);
            return record is null ? DefinitionEndpoints.NotFound("activity execution", id) : ElsaJson.Node(ExecutionRecord(record));
        });
        // The viewer's call stack of a selected execution: root first. Elsa follows each record's scheduling execution;
        // here a record's caller is its container's execution (node id prefix) that started last before it.
        executions.MapGet("/activity-executions/{id}/call-stack", async (string id, int? skip, int? take, WorkflowInstanceStore store, ExecutionRecordIndex index, CancellationToken ct) =>
        {
            if (index.InstanceOf(id) is not { } instanceId) return DefinitionEndpoints.NotFound("activity execution", id);
            var records = await store.GetActivityExecutionsAsync(instanceId, null, ct);
            if (records.FirstOrDefault(r => r.Id == id) is not { } record) return DefinitionEndpoints.NotFound("activity execution", id);
            var chain = CallStack(records, record);
            var page = chain.Skip(Math.Max(skip ?? 0, 0)).Take(take is > 0 ? Math.Min(take.Value, 1000) : 100);
            return ElsaJson.Node(new JsonObject
            {
                ["activityExecutionId"] = id,
                ["items"] = new JsonArray(page.Select(r => (JsonNode)ExecutionRecord(r)).ToArray()),
                ["totalCount"] = chain.Count,
            });
        });
    }

    private static List<ActivityExecutionRecord> CallStack(IReadOnlyList<ActivityExecutionRecord> records, ActivityExecutionRecord record)
    {
        var chain = new List<ActivityExecutionRecord> { record };
        var nodeId = record.ActivityNodeId;
        for (var cut = nodeId.LastIndexOf(':'); cut > 0; cut = nodeId.LastIndexOf(':', cut - 1))
        {
            var container = nodeId[..cut];
            if (records.Where(r => r.ActivityNodeId == container && r.StartedAt <= record.StartedAt).MaxBy(r => r.StartedAt) is { } caller) chain.Add(caller);
        }
        chain.Reverse();
        return chain;
    }

    public sealed record IdsRequest(IReadOnlyList<string>? Ids);

    public sealed record BulkCancelRequest(IReadOnlyList<string>? Ids, string? DefinitionVersionId);

    public sealed record ReportRequest(string WorkflowInstanceId, IReadOnlyList<string>? ActivityNodeIds);

    /// <summary>
    /// Runs the workflow now and answers when it completes or suspends. Studio reads only the headers: the instance id
    /// (then it navigates to the viewer) or cannot-start. A faulted run still answers 200 with the instance id, so
    /// Studio opens the viewer, which shows the fault and the incident.
    /// </summary>
    private static async Task<IResult> ExecuteAsync(string definitionId, HttpContext http, WorkflowRuntime runtime, WorkflowDefinitionService definitions,
        CodeFirstDefinitions codeFirst, WorkflowInstanceStore store, CancellationToken ct)
    {
        var body = http.Request.ContentLength is 0 ? null : await DefinitionEndpoints.ReadJsonAsync(http.Request, ct);
        var versionText = (string?)body?["versionOptions"];
        if (!DefinitionEndpoints.TryParseVersionOptions(string.IsNullOrEmpty(versionText) ? null : versionText, VersionOptions.Published, out var versionOptions, out var error))
            return error;
        if (!codeFirst.IsCodeFirst(definitionId) && await definitions.GetAsync(definitionId, VersionOptions.Latest, ct) is null
            && await definitions.GetAsync(definitionId, VersionOptions.Published, ct) is null)
            return DefinitionEndpoints.NotFound("definition", definitionId);

        var input = body?["input"] is JsonObject inputObject
            ? inputObject.ToDictionary(p => p.Key, p => (object?)p.Value?.DeepClone())
            : null;
        WorkflowRunResult result;
        try
        {
            result = await runtime.StartAsync(definitionId, new StartWorkflowRequest
            {
                Input = input,
                CorrelationId = (string?)body?["correlationId"],
                VersionOptions = versionOptions,
            }, ct);
        }
        catch (KeyNotFoundException e)
        {
            // No version matching versionOptions (e.g. nothing published): Studio shows "The workflow cannot be started".
            http.Response.Headers[CannotStartHeader] = "true";
            return Results.Json(new { status = 400, title = e.Message }, ElsaJson.Options, statusCode: StatusCodes.Status200OK);
        }
        catch (WorkflowValidationException e)
        {
            http.Response.Headers[CannotStartHeader] = "true";
            return Results.Json(new { status = 400, title = e.Message, errors = e.Errors }, ElsaJson.Options, statusCode: StatusCodes.Status200OK);
        }

        http.Response.Headers[InstanceIdHeader] = result.InstanceId;
        http.Response.Headers[CannotStartHeader] = "false";
        http.Response.Headers["x-elsa-response"] = "true";
        var state = await store.GetStateAsync(result.InstanceId, ct);
        return ElsaJson.Node(new JsonObject { ["workflowState"] = state is null ? null : StateNode(state) });
    }

    private static async Task<IResult> ListAsync(HttpRequest request, WorkflowInstanceStore store, CancellationToken ct)
    {
        var body = await DefinitionEndpoints.ReadJsonAsync(request, ct) ?? new JsonObject();
        var definitionIds = Strings(body["definitionIds"]);
        if ((string?)body["definitionId"] is { Length: > 0 } single) definitionIds.Add(single);
        var statuses = Enums<WorkflowStatus>(body["statuses"], body["status"]);
        var subStatuses = Enums<WorkflowSubStatus>(body["subStatuses"], body["subStatus"]);
        var query = new WorkflowInstanceQuery
        {
            SearchTerm = string.IsNullOrWhiteSpace((string?)body["searchTerm"]) ? null : ((string)body["searchTerm"]!).Trim(),
            DefinitionIds = definitionIds.Count > 0 ? definitionIds : null,
            CorrelationId = string.IsNullOrWhiteSpace((string?)body["correlationId"]) ? null : (string?)body["correlationId"],
            Version = body["version"] is JsonValue v && v.TryGetValue<int>(out var version) ? version : null,
            HasIncidents = body["hasIncidents"] is JsonValue h && h.TryGetValue<bool>(out var hasIncidents) ? hasIncidents : null,
            Statuses = statuses.Count > 0 ? statuses : null,
            SubStatuses = subStatuses.Count > 0 ? subStatuses : null,
            Page = Math.Max(0, Int(body["page"]) ?? 0),
            PageSize = Math.Clamp(Int(body["pageSize"]) ?? 50, 1, 1000),
            Descending = !string.Equals((string?)body["orderDirection"], "Ascending", StringComparison.OrdinalIgnoreCase),
        };
        var result = await store.ListAsync(query, ct);
        return ElsaJson.Ok(new { items = result.Items, totalCount = result.TotalCount });
    }

    private static async Task<IResult> JournalAsync(string id, HttpRequest request, int? skip, int? take, WorkflowInstanceStore store, CancellationToken ct)
    {
        JsonNode? filter = null;
        if (HttpMethods.IsPost(request.Method)) filter = (await DefinitionEndpoints.ReadJsonAsync(request, ct))?["filter"];
        var nodeIds = Strings(filter?["activityNodeIds"]);
        var excluded = Strings(filter?["excludedActivityTypes"]);
        var eventNames = Strings(filter?["eventNames"]);
        var page = await store.GetJournalAsync(id, new JournalQuery
        {
            ActivityNodeIds = nodeIds.Count > 0 ? nodeIds : null,
            ExcludedActivityTypes = excluded.Count > 0 ? excluded : null,
            EventNames = eventNames.Count > 0 ? eventNames : null,
            Skip = Math.Max(0, skip ?? 0),
            Take = Math.Clamp(take ?? 100, 1, 1000),
        }, ct);
        return ElsaJson.Node(new JsonObject
        {
            ["items"] = JsonSerializer.SerializeToNode(page.Items, ElsaJson.Options),
            ["totalCount"] = page.TotalCount,
        });
    }

    private static async Task<IResult> VariablesAsync(string id, WorkflowInstanceStore store, WorkflowDefinitionService definitions, CodeFirstDefinitions codeFirst, CancellationToken ct)
    {
        if (await store.GetStateAsync(id, ct) is not { } state) return DefinitionEndpoints.NotFound("instance", id);
        var definition = await definitions.GetByIdAsync(state.DefinitionVersionId, ct) ?? codeFirst.FindVersion(state.DefinitionVersionId);
        var declared = definition?.Variables ?? [];
        var items = new JsonArray();
        foreach (var (key, value) in state.Variables)
        {
            var variable = declared.FirstOrDefault(d => d.Id == key) ?? declared.FirstOrDefault(d => d.Name == key);
            items.Add(new JsonObject { ["id"] = variable?.Id ?? key, ["name"] = variable?.Name ?? key, ["value"] = value?.DeepClone() });
        }
        return ElsaJson.Node(new JsonObject { ["items"] = items, ["count"] = items.Count });
    }

    /// <summary>Per-node counters for the viewer's badges.</summary>
    private static async Task<IResult> ReportAsync([FromBody] ReportRequest request, WorkflowInstanceStore store, CancellationToken ct)
    {
        var records = await store.GetActivityExecutionsAsync(request.WorkflowInstanceId, null, ct);
        var nodeIds = request.ActivityNodeIds is { Count: > 0 } ids ? ids : records.Select(r => r.ActivityNodeId).Distinct().ToList();
        var stats = nodeIds.Select(nodeId =>
        {
            var ofNode = records.Where(r => r.ActivityNodeId == nodeId).ToList();
            var completed = ofNode.Count(r => r.Status == ActivityStatus.Completed);
            return new
            {
                activityId = ofNode.FirstOrDefault()?.ActivityId ?? nodeId.Split(':').Last(),
                activityNodeId = nodeId,
                startedCount = ofNode.Count,
                completedCount = completed,
                uncompletedCount = ofNode.Count - completed,
                isBlocked = ofNode.Any(r => r.HasBookmarks && r.Status is ActivityStatus.Running or ActivityStatus.Pending),
                isFaulted = ofNode.Any(r => r.Status == ActivityStatus.Faulted),
                metadata = new Dictionary<string, object>(),
            };
        }).Where(s => s.startedCount > 0).ToList();
        return ElsaJson.Ok(new { stats });
    }

    /// <summary><c>GET /workflow-instances/{id}</c>: the list row's fields plus <c>workflowState</c>.</summary>
    public static JsonObject InstanceModel(WorkflowState state) => new()
    {
        ["id"] = state.Id,
        ["definitionId"] = state.DefinitionId,
        ["definitionVersionId"] = state.DefinitionVersionId,
        ["version"] = state.DefinitionVersion,
        ["status"] = state.Status.ToString(),
        ["subStatus"] = state.SubStatus.ToString(),
        ["correlationId"] = state.CorrelationId,
        ["name"] = state.Name,
        ["incidentCount"] = state.Incidents.Count,
        ["createdAt"] = state.CreatedAt,
        ["updatedAt"] = state.UpdatedAt,
        ["finishedAt"] = state.FinishedAt,
        ["workflowState"] = StateNode(state),
    };

    private static JsonNode StateNode(WorkflowState state)
    {
        var node = JsonSerializer.SerializeToNode(state, WorkflowJson.Options)!.AsObject();
        // Studio's client reads Elsa's WorkflowState, where the definition version is "definitionVersion".
        node["definitionVersion"] = state.DefinitionVersion;
        return node;
    }

    private static JsonObject ExecutionRecord(ActivityExecutionRecord record) =>
        JsonSerializer.SerializeToNode(record, ElsaJson.Options)!.AsObject();

    private static JsonObject ExecutionSummary(ActivityExecutionRecord record) => new()
    {
        ["id"] = record.Id,
        ["workflowInstanceId"] = record.WorkflowInstanceId,
        ["activityId"] = record.ActivityId,
        ["activityNodeId"] = record.ActivityNodeId,
        ["activityType"] = record.ActivityType,
        ["activityTypeVersion"] = record.ActivityTypeVersion,
        ["activityName"] = record.ActivityName,
        ["startedAt"] = record.StartedAt,
        ["hasBookmarks"] = record.HasBookmarks,
        ["metadata"] = record.Metadata.DeepClone(),
        ["status"] = record.Status.ToString(),
        ["completedAt"] = record.CompletedAt,
    };

    internal static List<string> Strings(JsonNode? node) =>
        node is JsonArray array ? array.Select(n => (string?)n).Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).ToList() : [];

    internal static List<T> Enums<T>(JsonNode? many, JsonNode? one = null) where T : struct, Enum
    {
        var values = new List<T>();
        var nodes = many is JsonArray array ? array.ToList() : [];
        if (one is not null) nodes.Add(one);
        foreach (var node in nodes)
        {
            if (node is JsonValue value && value.TryGetValue<string>(out var text) && Enum.TryParse<T>(text, true, out var parsed)) values.Add(parsed);
            else if (node is JsonValue number && number.TryGetValue<int>(out var n) && Enum.IsDefined((T)(object)n)) values.Add((T)(object)n);
        }
        return values;
    }

    private static int? Int(JsonNode? node) => node is JsonValue value && value.TryGetValue<int>(out var n) ? n : null;
}
