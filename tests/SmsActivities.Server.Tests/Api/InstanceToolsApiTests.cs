using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Api;

/// <summary>
/// The routes behind Studio's activity Test tab and the alterations (bulk cancel "Apply to all matches"), and the
/// viewer's journal order and root status, checked on the server's answers and on the instances they change.
/// </summary>
public sealed class InstanceToolsApiTests : ServerTest
{
    [Fact]
    public async Task Testing_an_activity_runs_it_alone_with_the_variable_test_values_and_stores_nothing()
    {
        var model = ApiScenarios.Chain("Test tab " + Guid.NewGuid().ToString("N")[..6], null,
            (new JsonObject
            {
                ["id"] = "Greet", ["type"] = "Elsa.SetVariable", ["version"] = 1, ["name"] = "Greet",
                ["variable"] = new JsonObject { ["id"] = "v1", ["name"] = "greeting" },
                ["value"] = new JsonObject { ["typeName"] = "Object", ["expression"] = new JsonObject { ["type"] = "JavaScript", ["value"] = "'hello ' + variables.who" } },
            }, "Done"),
            (new JsonObject
            {
                ["id"] = "Say", ["type"] = "Elsa.WriteLine", ["version"] = 1, ["name"] = "Say",
                ["text"] = new JsonObject { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "JavaScript", ["value"] = "'said: ' + variables.who" } },
            }, "Done"));
        model["variables"] = new JsonArray(
            new JsonObject { ["id"] = "v1", ["name"] = "greeting", ["typeName"] = "String" },
            new JsonObject { ["id"] = "v2", ["name"] = "who", ["typeName"] = "String", ["value"] = "world" });
        // Studio's Variables tab keeps a designer's test values in this custom property, by variable id.
        model["customProperties"] = new JsonObject { ["VariableTestValues"] = new JsonObject { ["v2"] = "tester" } };
        var saved = await ApiScenarios.SaveAsync(Client, model, publish: false);

        var result = await TestAsync((string)saved["id"]!, "Workflow1:Flowchart1:Say");
        Assert.True((string?)result["status"] == "Completed", "status: " + result);
        Assert.Equal("said: tester", (string?)result["activityState"]!["Text"]);
        Assert.Equal("[\"Done\"]", result["payload"]!["Outcomes"]!.ToJsonString());
        Assert.Equal("Started → Completed", (string?)result["activityState"]!["Journal"]);
        var journal = result["journal"]!.AsArray().Select(j => (string?)j!["eventName"]).ToList();
        Assert.Equal(["Started", "Completed"], journal);

        // Nothing is stored: no instance of the definition exists.
        var instances = await Client.PostAsJsonAsync("elsa/api/workflow-instances", new JsonObject { ["definitionId"] = (string?)saved["definitionId"] });
        Assert.Equal(0, (int)JsonNode.Parse(await instances.Content.ReadAsStringAsync())!["totalCount"]!);

        var byId = await TestAsync((string)saved["id"]!, "Greet");
        Assert.True((string?)byId["status"] == "Completed", "SetVariable by activity id: " + byId);

        using var missing = await Client.PostAsJsonAsync("elsa/api/tests/activities", Request((string)saved["id"]!, "NoSuchActivity"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Testing_SendSms_in_sandbox_sends_through_the_emulator_and_shows_the_outputs()
    {
        var model = ApiScenarios.StartThen("Test SendSms " + Guid.NewGuid().ToString("N")[..6], SendSms("+8613800138001", "Test tab says hi"));
        var saved = await ApiScenarios.SaveAsync(Client, model, publish: false);
        var result = await TestAsync((string)saved["id"]!, "Send");
        Assert.True((string?)result["status"] == "Completed", "status: " + result);
        Assert.Equal("[\"Sent\"]", result["payload"]!["Outcomes"]!.ToJsonString());
        Assert.Equal(1, (int?)result["outputs"]!["SentCount"]);
        Assert.Single(result["outputs"]!["MessageIds"]!.AsArray());
    }

    [Fact]
    public async Task Journal_lists_Started_before_Faulted_the_root_ends_faulted_and_the_call_stack_leads_to_the_fault()
    {
        var model = ApiScenarios.StartThen("Faulting " + Guid.NewGuid().ToString("N")[..6], new JsonObject
        {
            ["id"] = "Broken", ["type"] = "Elsa.WriteLine", ["version"] = 1, ["name"] = "Broken",
            ["text"] = new JsonObject { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "JavaScript", ["value"] = "throw new Error('boom')" } },
        });
        var definitionId = (string)(await ApiScenarios.SaveAsync(Client, model, publish: true))["definitionId"]!;
        var instanceId = await ApiScenarios.ExecuteAsync(Client, definitionId);

        var journal = JsonNode.Parse(await (await Client.PostAsJsonAsync($"elsa/api/workflow-instances/{instanceId}/journal?skip=0&take=100",
            new JsonObject { ["filter"] = new JsonObject() })).Content.ReadAsStringAsync())!["items"]!.AsArray();
        var broken = journal.Where(j => (string?)j!["activityId"] == "Broken").Select(j => (string?)j!["eventName"]).ToList();
        Assert.True(broken.SequenceEqual(["Started", "Faulted"]), "journal of the faulting activity: " + string.Join(", ", broken));

        var root = JsonNode.Parse(await Client.GetStringAsync($"elsa/api/activity-executions/list?workflowInstanceId={instanceId}&activityNodeId=Workflow1:Flowchart1"))!["items"]!.AsArray();
        Assert.True(root.Count == 1 && (string?)root[0]!["status"] == "Faulted", "root executions: " + root.ToJsonString());

        // The viewer's call stack of the faulted execution: the root Flowchart's execution, then its own.
        var executions = JsonNode.Parse(await Client.GetStringAsync($"elsa/api/activity-executions/list?workflowInstanceId={instanceId}&activityNodeId=Workflow1:Flowchart1:Broken"))!["items"]!.AsArray();
        var stack = JsonNode.Parse(await Client.GetStringAsync($"elsa/api/activity-executions/{(string)executions.Single()!["id"]!}/call-stack?includeCrossWorkflowChain=true"))!;
        var frames = stack["items"]!.AsArray().Select(i => (string?)i!["activityNodeId"]).ToList();
        Assert.True(frames.SequenceEqual(["Workflow1:Flowchart1", "Workflow1:Flowchart1:Broken"]) && (int?)stack["totalCount"] == 2, "call stack: " + stack.ToJsonString());
        Assert.Equal((string?)root[0]!["id"], (string?)stack["items"]![0]!["id"]);
        using var unknown = await Client.GetAsync("elsa/api/activity-executions/no-such-execution/call-stack");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Alterations_modify_a_variable_schedule_an_activity_and_cancel_by_filter()
    {
        var name = "Altered " + Guid.NewGuid().ToString("N")[..6];
        var model = ApiScenarios.Chain(name, null,
            (Wait(name), "Done"),
            (new JsonObject
            {
                ["id"] = "After", ["type"] = "Elsa.SetVariable", ["version"] = 1, ["name"] = "After",
                ["variable"] = new JsonObject { ["id"] = "v1", ["name"] = "note" },
                ["value"] = new JsonObject { ["typeName"] = "Object", ["expression"] = new JsonObject { ["type"] = "JavaScript", ["value"] = "variables.note + ' and after'" } },
            }, "Done"));
        model["variables"] = new JsonArray(new JsonObject { ["id"] = "v1", ["name"] = "note", ["typeName"] = "String", ["value"] = "initial" });
        var definitionId = (string)(await ApiScenarios.SaveAsync(Client, model, publish: true))["definitionId"]!;
        var first = await ApiScenarios.ExecuteAsync(Client, definitionId);
        var second = await ApiScenarios.ExecuteAsync(Client, definitionId);
        var third = await ApiScenarios.ExecuteAsync(Client, definitionId);

        // Run: set the variable, then run the activity after the wait (the wait itself stays blocked, as in Elsa).
        var run = await PostAsync("elsa/api/alterations/run", new JsonObject
        {
            ["workflowInstanceIds"] = new JsonArray(first),
            ["alterations"] = new JsonArray(
                new JsonObject { ["type"] = "ModifyVariable", ["variableId"] = "v1", ["value"] = "changed" },
                new JsonObject { ["type"] = "ScheduleActivity", ["activityId"] = "After" }),
        });
        Assert.True((bool?)run["results"]![0]!["isSuccessful"] == true, "run: " + run);
        var state = JsonNode.Parse(await Client.GetStringAsync($"elsa/api/workflow-instances/{first}"))!;
        Assert.Equal("changed and after", (string?)state["workflowState"]!["variables"]!["note"]);

        // A failing alteration changes nothing.
        var refused = await PostAsync("elsa/api/alterations/run", new JsonObject
        {
            ["workflowInstanceIds"] = new JsonArray(second),
            ["alterations"] = new JsonArray(
                new JsonObject { ["type"] = "ModifyVariable", ["variableId"] = "v1", ["value"] = "must not stay" },
                new JsonObject { ["type"] = "ScheduleActivity", ["activityId"] = "NoSuchActivity" }),
        });
        Assert.False((bool?)refused["results"]![0]!["isSuccessful"]);
        Assert.Contains("NoSuchActivity", refused.ToJsonString(), StringComparison.Ordinal);
        var unchanged = JsonNode.Parse(await Client.GetStringAsync($"elsa/api/workflow-instances/{second}"))!;
        Assert.Equal("initial", (string?)unchanged["workflowState"]!["variables"]!["note"]);

        // Dry run, then submit: what Studio's bulk Cancel with "Apply to all matches" sends.
        var filter = new JsonObject { ["emptyFilterSelectsAll"] = true, ["isSystem"] = false, ["searchTerm"] = name, ["definitionIds"] = new JsonArray(definitionId) };
        var dryRun = await PostAsync("elsa/api/alterations/dry-run", filter.DeepClone().AsObject());
        Assert.Equal(new[] { first, second, third }.Order(), dryRun["workflowInstanceIds"]!.AsArray().Select(n => (string)n!).Order());
        var submitted = await PostAsync("elsa/api/alterations/submit", new JsonObject { ["alterations"] = new JsonArray(new JsonObject { ["type"] = "Cancel" }), ["filter"] = filter.DeepClone() });
        var plan = JsonNode.Parse(await Client.GetStringAsync($"elsa/api/alterations/{(string)submitted["planId"]!}"))!;
        Assert.Equal("Completed", (string?)plan["plan"]!["status"]);
        Assert.True(plan["jobs"]!.AsArray().Count(j => (string?)j!["status"] == "Completed") == 3, "jobs: " + plan["jobs"]);
        foreach (var id in new[] { first, second, third })
            Assert.Equal("Cancelled", (string?)JsonNode.Parse(await Client.GetStringAsync($"elsa/api/workflow-instances/{id}/execution-state"))!["workflowSubStatus"]);

        // Once cancelled, they cannot be altered again: the job fails and says why.
        var again = await PostAsync("elsa/api/alterations/run", new JsonObject { ["workflowInstanceIds"] = new JsonArray(third), ["alterations"] = new JsonArray(new JsonObject { ["type"] = "Cancel" }) });
        Assert.False((bool?)again["results"]![0]!["isSuccessful"]);
        Assert.Contains("has finished", again.ToJsonString(), StringComparison.Ordinal);

        using var unknown = await Client.PostAsJsonAsync("elsa/api/alterations/submit", new JsonObject { ["alterations"] = new JsonArray(new JsonObject { ["type"] = "Migrate", ["targetVersion"] = 2 }), ["filter"] = filter.DeepClone() });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("Migrate", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    internal static JsonObject Wait(string name) => new()
    {
        ["id"] = "Wait1", ["type"] = "Elsa.Event", ["version"] = 1, ["name"] = "Wait1",
        ["eventName"] = ApiScenarios.Literal("String", "never-" + name),
    };

    internal static JsonObject SendSms(string recipient, string text) => new()
    {
        ["id"] = "Send", ["type"] = "SmsActivities.SendSms", ["version"] = 1, ["name"] = "Send",
        ["recipients"] = new JsonObject { ["typeName"] = "Object", ["expression"] = new JsonObject { ["type"] = "Object", ["value"] = $"[\"{recipient}\"]" } },
        ["text"] = ApiScenarios.Literal("String", text),
    };

    private static JsonObject Request(string versionId, string activity) => new()
    {
        ["workflowDefinitionHandle"] = new JsonObject { ["definitionVersionId"] = versionId },
        ["activityHandle"] = activity.Contains(':') ? new JsonObject { ["activityNodeId"] = activity } : new JsonObject { ["activityId"] = activity },
    };

    private Task<JsonObject> TestAsync(string versionId, string activity) => PostAsync("elsa/api/tests/activities", Request(versionId, activity));

    private async Task<JsonObject> PostAsync(string path, JsonObject body)
    {
        using var response = await Client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
