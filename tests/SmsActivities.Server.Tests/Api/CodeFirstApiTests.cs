using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Api;

/// <summary>
/// Code-first workflows through the Elsa API, in the shape Elsa gives them (<c>isReadonly</c>,
/// <c>ClrWorkflowMaterializer</c>, no publish link): listed, loaded by definition and by version id, exported,
/// and refused for publish, retract, delete and save.
/// </summary>
public sealed class CodeFirstApiTests : IAsyncLifetime
{
    private ServerHost _server = null!;

    public async Task InitializeAsync() => _server = await ServerHost.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Code_first_workflows_are_listed_read_only_after_the_stored_ones()
    {
        using var client = _server.CreateClient();
        var all = JsonNode.Parse(await client.GetStringAsync("elsa/api/workflow-definitions?versionOptions=Latest&PageSize=100"))!;
        var items = all["items"]!.AsArray();
        Assert.Equal((int)all["totalCount"]!, items.Count);
        var codeFirst = items.Where(i => ((string)i!["definitionId"]!).EndsWith("-code", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, codeFirst.Count);
        Assert.All(codeFirst, item =>
        {
            Assert.True((bool)item!["isReadonly"]!);
            Assert.True((bool)item["isPublished"]!);
            Assert.Equal("ClrWorkflowMaterializer", (string?)item["materializerName"]);
            Assert.DoesNotContain(item["links"]!.AsArray(), l => (string?)l!["rel"] == "publish");
        });
        Assert.All(items.Take(items.Count - codeFirst.Count), item => Assert.False((bool)item!["isReadonly"]!));

        // Paging runs on from the stored definitions into the code-first ones.
        var secondPage = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-definitions?versionOptions=Latest&Page=1&PageSize={items.Count - 2}"))!;
        Assert.Equal(items.Skip(items.Count - 2).Select(i => (string?)i!["definitionId"]), secondPage["items"]!.AsArray().Select(i => (string?)i!["definitionId"]));

        var searched = JsonNode.Parse(await client.GetStringAsync("elsa/api/workflow-definitions?versionOptions=Latest&SearchTerm=OTP%20by%20SMS%20(C%23)"))!;
        Assert.Equal("otp-sms-code", (string?)Assert.Single(searched["items"]!.AsArray())!["definitionId"]);
    }

    [Fact]
    public async Task Code_first_definition_loads_with_its_diagram_and_version_id()
    {
        using var client = _server.CreateClient();
        var definition = JsonNode.Parse(await client.GetStringAsync("elsa/api/workflow-definitions/by-definition-id/otp-sms-code?versionOptions=Latest"))!;
        Assert.True((bool)definition["isReadonly"]!);
        var root = definition["root"]!;
        Assert.Equal("Elsa.Flowchart", (string?)root["type"]);
        var activities = root["activities"]!.AsArray();
        Assert.Contains(activities, a => (string?)a!["id"] == "SendOtp" && (string?)a["type"] == "SmsActivities.SendSms" && a["nodeId"] is not null);
        Assert.All(activities, a => Assert.NotNull(a!["metadata"]!["designer"]!["position"]));
        Assert.Contains(root["connections"]!.AsArray(), c => (string?)c!["source"]!["activity"] == "SendOtp" && (string?)c["source"]!["port"] == "Sent");
        // A literal input keeps its value; a C# lambda is named as such.
        var send = activities.Single(a => (string?)a!["id"] == "SendOtp")!;
        Assert.Contains("Literal", send.ToJsonString(), StringComparison.Ordinal);

        var byVersion = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-definitions/by-id/{Uri.EscapeDataString((string)definition["id"]!)}"))!;
        Assert.Equal("otp-sms-code", (string?)byVersion["definitionId"]);

        using var export = await client.GetAsync("elsa/api/workflow-definitions/otp-sms-code/export");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal("otp-sms-code", (string?)JsonNode.Parse(await export.Content.ReadAsStringAsync())!["definitionId"]);
    }

    [Fact]
    public async Task Code_first_workflow_runs_from_studios_run_button_and_its_instance_reads_back()
    {
        using var client = _server.CreateClient();
        // What the read-only viewer's ▶ sends; an HTTP-started workflow then waits at its endpoint, as in Elsa.
        var instanceId = await ApiScenarios.ExecuteAsync(client, "otp-sms-code");
        var instance = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-instances/{instanceId}"))!;
        Assert.Equal("otp-sms-code", (string?)instance["definitionId"]);
        var version = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-definitions/by-id/{Uri.EscapeDataString((string)instance["definitionVersionId"]!)}"))!;
        Assert.True((bool)version["isReadonly"]!);
        var journal = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-instances/{instanceId}/journal"))!;
        Assert.NotEmpty(journal["items"]!.AsArray());
        using var variables = await client.GetAsync($"elsa/api/workflow-instances/{instanceId}/variables");
        Assert.Equal(HttpStatusCode.OK, variables.StatusCode);
    }

    [Fact]
    public async Task Code_first_definition_cannot_be_changed_through_the_api()
    {
        using var client = _server.CreateClient();
        using (var publish = await client.PostAsJsonAsync("elsa/api/workflow-definitions/otp-sms-code/publish", new { }))
            Assert.Equal(HttpStatusCode.BadRequest, publish.StatusCode);
        using (var retract = await client.PostAsJsonAsync("elsa/api/workflow-definitions/otp-sms-code/retract", new { }))
            Assert.Equal(HttpStatusCode.BadRequest, retract.StatusCode);
        using (var delete = await client.DeleteAsync("elsa/api/workflow-definitions/otp-sms-code"))
            Assert.Equal(HttpStatusCode.BadRequest, delete.StatusCode);

        var model = ApiScenarios.HelloModel("Overwrite attempt", "otp-sms-code");
        using var save = await client.PostAsJsonAsync("elsa/api/workflow-definitions", new JsonObject { ["model"] = model, ["publish"] = true });
        Assert.Equal(HttpStatusCode.BadRequest, save.StatusCode);
        Assert.Contains("defined in code", await save.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var still = JsonNode.Parse(await client.GetStringAsync("elsa/api/workflow-definitions/by-definition-id/otp-sms-code"))!;
        Assert.Equal("OTP by SMS (C#)", (string?)still["name"]);
    }
}
