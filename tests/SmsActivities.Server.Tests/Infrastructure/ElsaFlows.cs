using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>Flowcharts written the way Elsa 3 serializes them, published and run through the server's HTTP API.</summary>
public static class ElsaFlows
{
    public static JsonObject Expr(string type, string value, string typeName = "Object") => new()
    {
        ["typeName"] = typeName,
        ["expression"] = new JsonObject { ["type"] = type, ["value"] = value },
        ["memoryReference"] = null,
    };

    public static JsonObject Lit(string value) => Expr("Literal", value, "String");
    public static JsonObject Js(string script) => Expr("JavaScript", script);
    public static JsonObject Liquid(string template) => Expr("Liquid", template, "String");

    public static JsonObject Act(string id, string type, JsonObject? inputs = null, JsonObject? customProperties = null)
    {
        var node = new JsonObject
        {
            ["id"] = id, ["nodeId"] = $"Workflow1:Flowchart1:{id}", ["name"] = id, ["type"] = type, ["version"] = 1,
            ["customProperties"] = customProperties ?? new JsonObject(),
            ["metadata"] = new JsonObject { ["designer"] = new JsonObject { ["position"] = new JsonObject { ["x"] = 0, ["y"] = 0 } } },
        };
        foreach (var (key, value) in inputs ?? []) node[key] = value?.DeepClone();
        return node;
    }

    /// <summary>An HTTP trigger (GET) at <paramref name="path"/>, marked to start the workflow.</summary>
    public static JsonObject HttpTrigger(string id, string path) => Act(id, "Elsa.HttpEndpoint",
        new JsonObject { ["path"] = Lit(path), ["supportedMethods"] = Expr("Object", "[\"GET\"]", "String[]") },
        new JsonObject { ["canStartWorkflow"] = true });

    public static JsonObject Respond(string id, JsonObject content) => Act(id, "Elsa.WriteHttpResponse", new JsonObject { ["content"] = content });

    public static JsonObject Conn(string from, string to, string port = "Done") => new()
    {
        ["source"] = new JsonObject { ["activity"] = from, ["port"] = port },
        ["target"] = new JsonObject { ["activity"] = to, ["port"] = "In" },
        ["vertices"] = new JsonArray(),
    };

    /// <summary>A workflow variable as Studio writes it (the default value as text).</summary>
    public static JsonObject Variable(string name, string typeName, string? value) => new()
    {
        ["id"] = name + "Id", ["name"] = name, ["typeName"] = typeName, ["isArray"] = false, ["value"] = value,
        ["storageDriverTypeName"] = "Elsa.Workflows.WorkflowInstanceStorageDriver, Elsa.Workflows.Core",
    };

    public static JsonObject Flowchart(string definitionId, IEnumerable<JsonObject> activities, IEnumerable<JsonObject> connections,
        IEnumerable<JsonObject>? variables = null, JsonObject? flowchartProperties = null)
    {
        var root = new JsonObject
        {
            ["id"] = "Flowchart1", ["nodeId"] = "Workflow1:Flowchart1", ["type"] = "Elsa.Flowchart", ["version"] = 1,
            ["customProperties"] = new JsonObject(), ["metadata"] = new JsonObject(),
            ["activities"] = new JsonArray([.. activities]), ["connections"] = new JsonArray([.. connections]),
        };
        foreach (var (key, value) in flowchartProperties ?? []) root[key] = value?.DeepClone();
        return new JsonObject
        {
            ["definitionId"] = definitionId, ["name"] = definitionId, ["toolVersion"] = "3.5.0", ["version"] = 1,
            ["variables"] = new JsonArray([.. variables ?? []]), ["inputs"] = new JsonArray(), ["outputs"] = new JsonArray(), ["outcomes"] = new JsonArray(),
            ["customProperties"] = new JsonObject(), ["options"] = new JsonObject { ["usableAsActivity"] = false, ["autoUpdateConsumingWorkflows"] = false },
            ["root"] = root,
        };
    }

    /// <summary>Publishes through <c>POST /elsa/api/workflow-definitions</c>, as Studio's Publish does.</summary>
    public static async Task PublishAsync(HttpClient client, JsonObject model)
    {
        using var response = await client.PostAsJsonAsync("elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = true });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"publish answered {(int)response.StatusCode}: {body}");
    }

    /// <summary>Publishes an HTTP-triggered flow (Http1 → …) and calls it; returns the response body.</summary>
    public static async Task<string> CallAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync("workflows/" + path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET workflows/{path} answered {(int)response.StatusCode}: {body}");
        return body;
    }

    /// <summary>Runs a published definition through <c>execute</c> and returns the instance id.</summary>
    public static Task<string> ExecuteAsync(HttpClient client, string definitionId) => ApiScenarios.ExecuteAsync(client, definitionId);

    public static async Task<JsonObject> InstanceAsync(HttpClient client, string instanceId) =>
        JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-instances/{instanceId}"))!.AsObject();

    /// <summary>How many times each activity ran in an instance, from the activity-execution records.</summary>
    public static async Task<Dictionary<string, int>> ExecutionCountsAsync(HttpClient client, string instanceId)
    {
        var list = JsonNode.Parse(await client.GetStringAsync($"elsa/api/activity-executions/list?workflowInstanceId={instanceId}"))!;
        var items = list as JsonArray ?? list["items"]!.AsArray();
        return items.GroupBy(i => (string)i!["activityId"]!).ToDictionary(g => g.Key, g => g.Count());
    }
}
