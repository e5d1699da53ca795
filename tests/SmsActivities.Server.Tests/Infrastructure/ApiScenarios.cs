using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>Workflows set up through the Elsa API, as Studio would.</summary>
public static class ApiScenarios
{
    /// <summary>A published flowchart: Start → WriteLine, in Studio's JSON.</summary>
    public static JsonObject HelloModel(string name, string? definitionId = null) => StartThen(name, new JsonObject
    {
        ["id"] = "WriteLine1", ["type"] = "Elsa.WriteLine", ["version"] = 1, ["name"] = "WriteLine1",
        ["text"] = Literal("String", "hello"),
    }, definitionId);

    /// <summary>A flowchart Start → <paramref name="activity"/> (which needs an <c>id</c>), in Studio's JSON.</summary>
    public static JsonObject StartThen(string name, JsonObject activity, string? definitionId = null) =>
        Chain(name, definitionId, (activity, "Done"));

    /// <summary>
    /// A flowchart Start → each activity in turn, each one entered from the given port of the one before (the first from
    /// Start's <c>Done</c>), in Studio's JSON. Activities need an <c>id</c>.
    /// </summary>
    public static JsonObject Chain(string name, string? definitionId, params (JsonObject Activity, string FromPort)[] steps)
    {
        var activities = new JsonArray(new JsonObject { ["id"] = "Start1", ["type"] = "Elsa.Start", ["version"] = 1, ["name"] = "Start1" });
        var connections = new JsonArray();
        var previous = "Start1";
        foreach (var (activity, port) in steps)
        {
            activities.Add(activity);
            var id = (string)activity["id"]!;
            connections.Add(new JsonObject
            {
                ["source"] = new JsonObject { ["activity"] = previous, ["port"] = port },
                ["target"] = new JsonObject { ["activity"] = id, ["port"] = "In" },
            });
            previous = id;
        }
        return new JsonObject
        {
            ["definitionId"] = definitionId,
            ["name"] = name,
            ["toolVersion"] = "3.8.0",
            ["root"] = new JsonObject { ["id"] = "Flowchart1", ["type"] = "Elsa.Flowchart", ["version"] = 1, ["activities"] = activities, ["connections"] = connections },
        };
    }

    /// <summary>An input set to a literal, in Studio's JSON.</summary>
    public static JsonObject Literal(string typeName, string value) => new()
    {
        ["typeName"] = typeName,
        ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = value },
    };

    public static async Task<JsonObject> SaveAsync(HttpClient client, JsonObject model, bool publish)
    {
        using var response = await client.PostAsJsonAsync("elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = publish });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"save answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["workflowDefinition"]!.AsObject();
    }

    public static async Task<string> ExecuteAsync(HttpClient client, string definitionId)
    {
        using var response = await client.PostAsJsonAsync($"elsa/api/workflow-definitions/{definitionId}/execute",
            new JsonObject { ["versionOptions"] = "Latest" });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"execute answered {(int)response.StatusCode}: {body}");
        return response.Headers.GetValues("x-elsa-workflow-instance-id").Single();
    }

    public static async Task<string> RunHelloWorkflowAsync(HttpClient client, string name)
    {
        var definition = await SaveAsync(client, HelloModel(name), publish: true);
        return await ExecuteAsync(client, (string)definition["definitionId"]!);
    }
}
