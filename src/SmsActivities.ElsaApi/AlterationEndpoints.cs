using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// Elsa's alterations API, as Studio calls it (the instance list's bulk Cancel with "Apply to all matches" submits a
/// plan): <c>POST /alterations/submit</c> (a plan: alterations + instance filter), <c>/alterations/dry-run</c> (the
/// instances a filter selects), <c>/alterations/run</c> (alterations on given instances) and
/// <c>GET /alterations/{id}</c> (a plan and its jobs). Supported: Cancel, ModifyVariable and ScheduleActivity, each
/// applied by the runtime's <see cref="InstanceAlterer"/> under the instance's lease, in one commit. A submitted plan
/// runs before the answer (Elsa queues it), and plans are kept in memory for <c>GET</c> only until the server restarts.
/// </summary>
public static class AlterationEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var alterations = api.MapGroup("/alterations").WithTags("Alterations");
        alterations.MapPost("/dry-run", async (HttpRequest request, WorkflowInstanceStore store, CancellationToken ct) =>
        {
            var body = await DefinitionEndpoints.ReadJsonAsync(request, ct);
            if (body is not JsonObject filter) return DefinitionEndpoints.BadRequest("The body must be an instance filter (AlterationWorkflowInstanceFilter).");
            if (Unsupported(filter) is { } problem) return DefinitionEndpoints.BadRequest(problem);
            return ElsaJson.Ok(new { workflowInstanceIds = await FindAsync(filter, store, ct) });
        });
        alterations.MapPost("/submit", async (HttpRequest request, WorkflowInstanceStore store, InstanceAlterer alterer, AlterationPlans plans, TimeProvider time, CancellationToken ct) =>
        {
            var body = await DefinitionEndpoints.ReadJsonAsync(request, ct);
            if (body is not JsonObject plan) return DefinitionEndpoints.BadRequest("The body must be an alteration plan {\"alterations\":[…],\"filter\":{…}}.");
            if (!TryReadAlterations(plan["alterations"], out var parsed, out var error)) return DefinitionEndpoints.BadRequest(error);
            var filter = plan["filter"] as JsonObject ?? new JsonObject();
            if (Unsupported(filter) is { } problem) return DefinitionEndpoints.BadRequest(problem);

            var planId = (string?)plan["id"] is { Length: > 0 } given ? given : Guid.CreateVersion7().ToString("N");
            var record = new AlterationPlanRecord(planId, (JsonArray)plan["alterations"]!.DeepClone(), filter.DeepClone().AsObject(), time.GetUtcNow());
            plans.Add(record);
            foreach (var id in await FindAsync(filter, store, ct))
            {
                var started = time.GetUtcNow();
                var result = await alterer.ApplyAsync(id, parsed, ct);
                record.Jobs.Enqueue(new AlterationJobRecord(Guid.CreateVersion7().ToString("N"), planId, id, result, started, time.GetUtcNow()));
            }
            record.CompletedAt = time.GetUtcNow();
            return ElsaJson.Ok(new { planId });
        });
        alterations.MapPost("/run", async (HttpRequest request, InstanceAlterer alterer, CancellationToken ct) =>
        {
            var body = await DefinitionEndpoints.ReadJsonAsync(request, ct);
            if (!TryReadAlterations(body?["alterations"], out var parsed, out var error)) return DefinitionEndpoints.BadRequest(error);
            var ids = body?["workflowInstanceIds"] is JsonArray array ? array.Select(n => (string?)n).OfType<string>().Distinct().ToList() : [];
            var results = new JsonArray();
            foreach (var id in ids) results.Add(ResultNode(await alterer.ApplyAsync(id, parsed, ct)));
            return ElsaJson.Node(new JsonObject { ["results"] = results });
        });
        alterations.MapGet("/{id}", (string id, AlterationPlans plans) =>
            plans.Find(id) is { } plan ? ElsaJson.Node(PlanNode(plan)) : DefinitionEndpoints.NotFound("alteration plan", id));
    }

    /// <summary>
    /// Elsa's polymorphic alterations (<c>{"type":"Cancel"}</c>, <c>{"type":"ModifyVariable","variableId","value"}</c>,
    /// <c>{"type":"ScheduleActivity","activityId"|"activityInstanceId"}</c>). Anything else is refused, naming it.
    /// </summary>
    internal static bool TryReadAlterations(JsonNode? node, out List<WorkflowAlteration> alterations, out string error)
    {
        alterations = [];
        error = "";
        if (node is not JsonArray { Count: > 0 } array)
        {
            error = "alterations must be a non-empty list, e.g. [{\"type\":\"Cancel\"}].";
            return false;
        }
        for (var i = 0; i < array.Count; i++)
        {
            var item = array[i] as JsonObject;
            var type = (string?)item?["type"];
            WorkflowAlteration? alteration = type switch
            {
                "Cancel" => new CancelAlteration(),
                "ModifyVariable" when (string?)item!["variableId"] is { Length: > 0 } variableId => new ModifyVariableAlteration(variableId, item["value"]?.DeepClone()),
                "ScheduleActivity" when (string?)item!["activityId"] is { Length: > 0 } || (string?)item!["activityInstanceId"] is { Length: > 0 } =>
                    new ScheduleActivityAlteration((string?)item["activityId"], (string?)item["activityInstanceId"]),
                _ => null,
            };
            if (alteration is null)
            {
                error = type switch
                {
                    "ModifyVariable" => $"alterations[{i}]: ModifyVariable needs variableId (a variable's id or name) and value.",
                    "ScheduleActivity" => $"alterations[{i}]: ScheduleActivity needs activityId or activityInstanceId.",
                    null => $"alterations[{i}]: type is required (Cancel, ModifyVariable or ScheduleActivity).",
                    _ => $"alterations[{i}]: type '{type}' is not supported here; supported: Cancel, ModifyVariable, ScheduleActivity.",
                };
                return false;
            }
            alterations.Add(alteration);
        }
        return true;
    }

    /// <summary>Filter criteria this server cannot apply are refused rather than ignored (ignoring one would widen the selection).</summary>
    private static string? Unsupported(JsonObject filter)
    {
        foreach (var name in new[] { "timestampFilters", "activityFilters" })
            if (filter[name] is JsonArray { Count: > 0 }) return $"filter.{name} is not supported by this server; filter by ids, definitions, statuses, search term, correlation ids or names.";
        return null;
    }

    /// <summary>
    /// The instances a filter selects (Elsa's <c>AlterationWorkflowInstanceFilter</c>): every given criterion must hold;
    /// with none given, nothing is selected unless <c>emptyFilterSelectsAll</c>.
    /// </summary>
    internal static async Task<List<string>> FindAsync(JsonObject filter, WorkflowInstanceStore store, CancellationToken ct)
    {
        var ids = InstanceEndpoints.Strings(filter["workflowInstanceIds"]);
        var correlationIds = InstanceEndpoints.Strings(filter["correlationIds"]);
        var names = InstanceEndpoints.Strings(filter["names"]);
        var definitionIds = InstanceEndpoints.Strings(filter["definitionIds"]);
        var versionIds = InstanceEndpoints.Strings(filter["definitionVersionIds"]);
        var searchTerm = (string?)filter["searchTerm"] is { } term && !string.IsNullOrWhiteSpace(term) ? term.Trim() : null;
        var hasIncidents = filter["hasIncidents"] is JsonValue h && h.TryGetValue<bool>(out var b) ? b : (bool?)null;
        var statuses = InstanceEndpoints.Enums<WorkflowStatus>(filter["statuses"]);
        var subStatuses = InstanceEndpoints.Enums<WorkflowSubStatus>(filter["subStatuses"]);
        var any = ids.Count + correlationIds.Count + names.Count + definitionIds.Count + versionIds.Count + statuses.Count + subStatuses.Count > 0
                  || searchTerm != null || hasIncidents != null;
        if (!any && !(filter["emptyFilterSelectsAll"] is JsonValue all && all.TryGetValue<bool>(out var selectsAll) && selectsAll)) return [];

        var found = new List<string>();
        for (var page = 0; ; page++)
        {
            var result = await store.ListAsync(new WorkflowInstanceQuery
            {
                SearchTerm = searchTerm,
                DefinitionIds = definitionIds.Count > 0 ? definitionIds : null,
                HasIncidents = hasIncidents,
                Statuses = statuses.Count > 0 ? statuses : null,
                SubStatuses = subStatuses.Count > 0 ? subStatuses : null,
                Page = page,
                PageSize = 1000,
            }, ct);
            found.AddRange(result.Items
                .Where(i => ids.Count == 0 || ids.Contains(i.Id))
                .Where(i => correlationIds.Count == 0 || (i.CorrelationId != null && correlationIds.Contains(i.CorrelationId)))
                .Where(i => names.Count == 0 || (i.Name != null && names.Contains(i.Name)))
                .Where(i => versionIds.Count == 0 || versionIds.Contains(i.DefinitionVersionId))
                .Select(i => i.Id));
            if (result.Items.Count < 1000) return found;
        }
    }

    private static JsonObject ResultNode(AlterationResult result) => new()
    {
        ["workflowInstanceId"] = result.WorkflowInstanceId,
        ["log"] = new JsonObject { ["logEntries"] = JsonSerializer.SerializeToNode(result.Log, ElsaJson.Options) },
        ["workflowHasScheduledWork"] = result.WorkflowHasScheduledWork,
        ["isSuccessful"] = result.IsSuccessful,
    };

    private static JsonObject PlanNode(AlterationPlanRecord plan) => new()
    {
        ["plan"] = new JsonObject
        {
            ["id"] = plan.Id,
            ["alterations"] = plan.Alterations.DeepClone(),
            ["workflowInstanceFilter"] = plan.Filter.DeepClone(),
            ["status"] = plan.CompletedAt is null ? "Running" : "Completed",
            ["createdAt"] = plan.CreatedAt,
            ["startedAt"] = plan.CreatedAt,
            ["completedAt"] = plan.CompletedAt,
        },
        ["jobs"] = new JsonArray(plan.Jobs.ToArray().Select(job => (JsonNode)new JsonObject
        {
            ["id"] = job.Id,
            ["planId"] = job.PlanId,
            ["workflowInstanceId"] = job.WorkflowInstanceId,
            ["status"] = job.Result.IsSuccessful ? "Completed" : "Failed",
            ["log"] = JsonSerializer.SerializeToNode(job.Result.Log, ElsaJson.Options),
            ["createdAt"] = job.StartedAt,
            ["startedAt"] = job.StartedAt,
            ["completedAt"] = job.CompletedAt,
        }).ToArray()),
    };
}

public sealed record AlterationJobRecord(string Id, string PlanId, string WorkflowInstanceId, AlterationResult Result, DateTimeOffset StartedAt, DateTimeOffset CompletedAt);

public sealed class AlterationPlanRecord(string id, JsonArray alterations, JsonObject filter, DateTimeOffset createdAt)
{
    public string Id { get; } = id;
    public JsonArray Alterations { get; } = alterations;
    public JsonObject Filter { get; } = filter;
    public DateTimeOffset CreatedAt { get; } = createdAt;
    public DateTimeOffset? CompletedAt { get; set; }
    public ConcurrentQueue<AlterationJobRecord> Jobs { get; } = new();
}

/// <summary>Submitted plans, for <c>GET /alterations/{id}</c>: in memory, the latest 1,000.</summary>
public sealed class AlterationPlans
{
    private const int Capacity = 1000;
    private readonly ConcurrentDictionary<string, AlterationPlanRecord> _plans = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();

    public void Add(AlterationPlanRecord plan)
    {
        _plans[plan.Id] = plan;
        _order.Enqueue(plan.Id);
        while (_order.Count > Capacity && _order.TryDequeue(out var oldest)) _plans.TryRemove(oldest, out _);
    }

    public AlterationPlanRecord? Find(string id) => _plans.GetValueOrDefault(id);
}
