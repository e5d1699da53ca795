using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// <c>POST /tests/activities</c>: the editor's activity Test tab. Runs one activity of the saved definition version on
/// its own (<see cref="ActivityTester"/>: the workflow's variables at their initial values, nothing stored) and answers
/// what Studio shows: status, evaluated inputs, outcomes, outputs and the fault, plus the journal lines.
/// Activities that reach the outside world (<see cref="ActivityTestOptions.ReachesVendor"/>) run only when
/// <see cref="ActivityTestOptions.RunVendorActivities"/> says so; otherwise the answer is Faulted, with the reason.
/// </summary>
public static class TestEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/tests/activities", TestAsync).WithTags("Tests");
    }

    private static async Task<IResult> TestAsync(HttpRequest request, ActivityTester tester, WorkflowDefinitionService definitions,
        ActivityRegistry registry, IOptions<ActivityTestOptions> options, CancellationToken ct)
    {
        var body = await DefinitionEndpoints.ReadJsonAsync(request, ct);
        var definitionHandle = body?["workflowDefinitionHandle"] as JsonObject;
        var activityHandle = body?["activityHandle"] as JsonObject;
        if (definitionHandle is null || activityHandle is null)
            return DefinitionEndpoints.BadRequest("The body must be {\"workflowDefinitionHandle\":{…},\"activityHandle\":{…}}.");

        var versionId = (string?)definitionHandle["definitionVersionId"];
        if ((string?)definitionHandle["definitionId"] is { Length: > 0 } definitionId)
        {
            var versionText = (string?)definitionHandle["versionOptions"];
            if (!DefinitionEndpoints.TryParseVersionOptions(string.IsNullOrEmpty(versionText) ? null : versionText, VersionOptions.Latest, out var versionOptions, out var error))
                return error;
            versionId = (await definitions.GetAsync(definitionId, versionOptions, ct))?.Id;
            if (versionId is null) return DefinitionEndpoints.NotFound("definition", definitionId);
        }
        if (string.IsNullOrEmpty(versionId)) return DefinitionEndpoints.BadRequest("workflowDefinitionHandle needs definitionVersionId, or definitionId (with versionOptions).");
        var activity = (string?)activityHandle["activityNodeId"] ?? (string?)activityHandle["activityId"];
        if (string.IsNullOrEmpty(activity)) return DefinitionEndpoints.BadRequest("activityHandle needs activityNodeId or activityId.");

        if (await tester.FindActivityTypeAsync(versionId, activity, ct) is not { } type) return DefinitionEndpoints.NotFound("activity", $"{activity} in version {versionId}");
        if (!options.Value.RunVendorActivities && registry.Find(type) is { } info && options.Value.ReachesVendor(info.Type))
            return ElsaJson.Node(new JsonObject
            {
                ["activityState"] = new JsonObject(),
                ["status"] = nameof(ActivityStatus.Faulted),
                ["exception"] = new JsonObject
                {
                    ["type"] = "NotRun",
                    ["message"] = $"{type} was not run: its test would reach the real vendor (and send a real message). " + options.Value.NotRunHint,
                },
            });

        var result = await tester.RunAsync(versionId, activity, ct);
        if (result is null) return DefinitionEndpoints.NotFound("activity", $"{activity} in version {versionId}");
        return ElsaJson.Node(Response(result));
    }

    /// <summary>
    /// Elsa's test response. Studio lists <c>activityState</c> as "State" (the evaluated inputs, and here also the
    /// journal in one line, since the tab has no journal panel), <c>payload.Outcomes</c>, <c>outputs</c> and the fault.
    /// </summary>
    private static JsonObject Response(ActivityTestResult result)
    {
        var record = result.Record;
        var state = record.ActivityState?.DeepClone().AsObject() ?? new JsonObject();
        state["Journal"] = string.Join(" → ", result.Journal.Select(j => j.EventName + (string.IsNullOrEmpty(j.Message) ? "" : $" ({j.Message})")));
        return new JsonObject
        {
            ["activityState"] = state,
            ["payload"] = new JsonObject { ["Outcomes"] = new JsonArray(record.Outcomes.Select(o => (JsonNode?)o).ToArray()) },
            ["outputs"] = record.Outputs?.DeepClone() ?? new JsonObject(),
            ["exception"] = record.Exception is null ? null : JsonSerializer.SerializeToNode(record.Exception, ElsaJson.Options),
            ["status"] = record.Status.ToString(),
            ["journal"] = JsonSerializer.SerializeToNode(result.Journal, ElsaJson.Options),
        };
    }
}

/// <summary>Which activities the Test tab may run: those that reach a vendor only when allowed (the server allows them in sandbox mode).</summary>
public sealed class ActivityTestOptions
{
    public bool RunVendorActivities { get; set; }

    /// <summary>Whether an activity type reaches a vendor when it runs (sends a message, places a call).</summary>
    public Func<Type, bool> ReachesVendor { get; set; } = _ => false;

    /// <summary>How to allow them, appended to the refusal.</summary>
    public string NotRunHint { get; set; } = "";
}
