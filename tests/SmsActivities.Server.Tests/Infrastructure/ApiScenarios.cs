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
    public static JsonObject StartThen(string name, JsonObject activity, string? definitionId = null) => new()
    {
        ["definitionId"] = definitionId,
        ["name"] = name,
        ["toolVersion"] = "3.8.0",
        ["root"] = new JsonObject
        {
            ["id"] = "Flowchart1",
            ["type"] = "Elsa.Flowchart",
            ["version"] = 1,
            ["activities"] = new JsonArray(new JsonObject { ["id"] = "Start1", ["type"] = "Elsa.Start", ["version"] = 1, ["name"] = "Start1" }, activity),
            ["connections"] = new JsonArray(new JsonObject
            {
                ["source"] = new JsonObject { ["activity"] = "Start1", ["port"] = "Done" },
                ["target"] = new JsonObject { ["activity"] = (string)activity["id"]!, ["port"] = "In" },
            }),
        },
    };

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
