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
/// is stored with its jobs in the runtime's database (<see cref="AlterationPlans"/>) and runs before the answer (Elsa
/// queues it); one interrupted by a crash is resumed by the runtime.
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
        alterations.MapPost("/submit", async (HttpRequest request, WorkflowInstanceStore store, AlterationPlans plans, ILoggerFactory logs, CancellationToken ct) =>
        {
            var body = await DefinitionEndpoints.ReadJsonAsync(request, ct);
            if (body is not JsonObject plan) return DefinitionEndpoints.BadRequest("The body must be an alteration plan {\"alterations\":[…],\"filter\":{…}}.");
            if (!AlterationJson.TryRead(plan["alterations"], out _, out var error)) return DefinitionEndpoints.BadRequest(error);
            var filter = plan["filter"] as JsonObject ?? new JsonObject();
            if (Unsupported(filter) is { } problem) return DefinitionEndpoints.BadRequest(problem);

            var planId = (string?)plan["id"] is { Length: > 0 } given ? given : Guid.CreateVersion7().ToString("N");
            if (!await plans.AddAsync(planId, plan["alterations"]!.DeepClone().AsArray(), filter.DeepClone().AsObject(), await FindAsync(filter, store, ct), ct))
                return Results.Conflict(new { error = $"An alteration plan with id '{planId}' exists already." });
            try
            {
                await plans.RunAsync(planId, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The plan is stored: the runtime resumes it once its lease expires.
                logs.CreateLogger(typeof(AlterationEndpoints)).LogError(e, "Alteration plan {PlanId} stopped; it will be resumed.", planId);
            }
            return ElsaJson.Ok(new { planId });
        });
        alterations.MapPost("/run", async (HttpRequest request, InstanceAlterer alterer, CancellationToken ct) =>
        {
            var body = await DefinitionEndpoints.ReadJsonAsync(request, ct);
            if (!AlterationJson.TryRead(body?["alterations"], out var parsed, out var error)) return DefinitionEndpoints.BadRequest(error);
            var ids = body?["workflowInstanceIds"] is JsonArray array ? array.Select(n => (string?)n).OfType<string>().Distinct().ToList() : [];
            var results = new JsonArray();
            foreach (var id in ids) results.Add(ResultNode(await alterer.ApplyAsync(id, parsed, ct)));
            return ElsaJson.Node(new JsonObject { ["results"] = results });
        });
        alterations.MapGet("/{id}", async (string id, AlterationPlans plans, CancellationToken ct) =>
            await plans.FindAsync(id, ct) is { } plan ? ElsaJson.Node(PlanNode(plan)) : DefinitionEndpoints.NotFound("alteration plan", id));
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

    private static JsonObject PlanNode(AlterationPlan plan) => new()
    {
        ["plan"] = new JsonObject
        {
            ["id"] = plan.Id,
            ["alterations"] = plan.Alterations.DeepClone(),
            ["workflowInstanceFilter"] = plan.Filter.DeepClone(),
            ["status"] = plan.Status,
            ["createdAt"] = plan.CreatedAt,
            ["startedAt"] = plan.StartedAt,
            ["completedAt"] = plan.CompletedAt,
        },
        ["jobs"] = new JsonArray(plan.Jobs.Select(job => (JsonNode)new JsonObject
        {
            ["id"] = job.Id,
            ["planId"] = job.PlanId,
            ["workflowInstanceId"] = job.WorkflowInstanceId,
            ["status"] = job.Status,
            ["log"] = JsonSerializer.SerializeToNode(job.Log, ElsaJson.Options),
            ["createdAt"] = job.CreatedAt,
            ["startedAt"] = job.StartedAt,
            ["completedAt"] = job.CompletedAt,
        }).ToArray()),
    };
}
