using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Server.Tests.Api;

/// <summary>
/// What Studio's editors and import read, checked on the JSON the server gives: definition files Studio's importer
/// accepts, exports that import back unchanged, chips for literal list inputs.
/// </summary>
public sealed class StudioApiTests : IAsyncLifetime
{
    private ServerHost _server = null!;

    public async Task InitializeAsync() => _server = await ServerHost.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string> WorkflowFiles() => new(Directory.EnumerateFiles(StudioFiles.WorkflowsFolder, "*.json").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(WorkflowFiles))]
    public async Task Every_workflow_file_passes_Studios_import_check_and_imports_as_it_is(string file)
    {
        var text = await File.ReadAllTextAsync(Path.Combine(StudioFiles.WorkflowsFolder, file));
        var json = JsonNode.Parse(text)!.AsObject();
        // Studio 3.8's importer refuses ("Invalid schema") a file without any of these top-level keys.
        foreach (var key in new[] { "id", "definitionId", "name", "root" }) Assert.True(json.ContainsKey(key), $"{file} has no top-level '{key}'");

        using var client = _server.CreateClient();
        using var response = await client.PostAsync("elsa/api/workflow-definitions/import", new StringContent(text, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var exported = await ExportAsync(client, (string)json["definitionId"]!);
        Assert.Equal(Content(json), Content(exported));
    }

    [Fact]
    public async Task An_export_imports_back_unchanged()
    {
        using var client = _server.CreateClient();
        var first = await ExportAsync(client, "otp-sms");
        Assert.Equal("otp-sms", (string?)first["definitionId"]);
        Assert.False(string.IsNullOrEmpty((string?)first["id"]), "exports carry the version id Studio's importer requires");
        first["definitionId"] = "otp-sms-copy";
        using var response = await client.PostAsync("elsa/api/workflow-definitions/import", new StringContent(first.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var second = await ExportAsync(client, "otp-sms-copy");
        Assert.Equal(Content(first), Content(second));
    }

    [Fact]
    public async Task List_inputs_holding_a_plain_literal_show_as_chips_and_exports_keep_the_literal()
    {
        using var client = _server.CreateClient();
        var model = JsonNode.Parse(await client.GetStringAsync("elsa/api/workflow-definitions/by-definition-id/otp-sms?versionOptions=Latest"))!;
        var failover = Activity(model, "SmsActivities.SendSms")["failover"]!["expression"]!;
        // Studio's chips editor shows only an Object expression holding a JSON list.
        Assert.Equal("Object", (string?)failover["type"]);
        Assert.Equal("[\"tencent\"]", (string?)failover["value"]);
        var exported = await ExportAsync(client, "otp-sms");
        Assert.Equal("Literal", (string?)Activity(exported, "SmsActivities.SendSms")["failover"]!["expression"]!["type"]);

        var codeFirst = JsonNode.Parse(await client.GetStringAsync("elsa/api/workflow-definitions/by-definition-id/otp-sms-code?versionOptions=Latest"))!;
        var recipients = Activity(codeFirst, "SmsActivities.SendSms")["recipients"]!["expression"]!;
        Assert.Equal("Object", (string?)recipients["type"]);
        Assert.Equal("[\"(computed in C#)\"]", (string?)recipients["value"]);
    }

    [Fact]
    public async Task Script_type_definitions_declare_the_functions_the_variables_and_the_activity_outputs()
    {
        using var client = _server.CreateClient();
        var model = ApiScenarios.HelloModel("Typed " + Guid.NewGuid().ToString("N")[..6]);
        model["variables"] = new JsonArray(
            new JsonObject { ["id"] = "v1", ["name"] = "attempts", ["typeName"] = "Int32" },
            new JsonObject { ["id"] = "v2", ["name"] = "phones", ["typeName"] = "String", ["isArray"] = true });
        var definitionId = (string)(await ApiScenarios.SaveAsync(client, model, publish: false))["definitionId"]!;
        // Studio posts {workflowDefinitionId, activityTypeName, propertyName}.
        using var response = await client.PostAsync($"elsa/api/scripting/javascript/type-definitions/{definitionId}",
            new StringContent($$"""{"workflowDefinitionId":"{{definitionId}}","activityTypeName":"Elsa.WriteLine","propertyName":"Text"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        foreach (var declaration in new[]
                 {
                     "declare function getVariable(name: string): any;",
                     "declare function setVariable(name: string, value: any): void;",
                     "declare function getOutputFrom(activityIdOrName: string, outputName?: string): any;",
                     "declare function getLastResult(): any;",
                     "declare function isNullOrEmpty(value: string | null): boolean;",
                     "declare function getWorkflowInstanceId(): string;",
                     "declare function getAttempts(): number;",
                     "declare function setAttempts(value: number): void;",
                     "declare function getPhones(): string[];",
                     "    attempts: number;",
                     "declare var variables: WorkflowVariables;",
                 })
            Assert.Contains(declaration, text);

        using var missing = await client.PostAsync("elsa/api/scripting/javascript/type-definitions/no-such-workflow", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Script_type_definitions_declare_each_named_activitys_outputs()
    {
        using var client = _server.CreateClient();
        using var response = await client.PostAsync("elsa/api/scripting/javascript/type-definitions/otp-sms", new StringContent("{}", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("declare function getMessageIdsFromSendOtp(): string[];", text);
        Assert.Contains("declare function getParsedContentFromHttp1(): any;", text);
    }

    [Fact]
    public async Task WaitForDeliveryReport_offers_the_workflows_SendSms_activities_and_refuses_an_unknown_one_at_publish()
    {
        using var client = _server.CreateClient();
        var model = SendAndWaitModel("Wait reference " + Guid.NewGuid().ToString("N")[..6], reference: "NoSuchSend");
        using var refused = await client.PostAsync("elsa/api/workflow-definitions", Body(new JsonObject { ["model"] = model.DeepClone(), ["publish"] = true }));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var errors = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["validationErrors"]!.AsArray();
        Assert.Contains(errors, e => ((string)e!["errorMessage"]!).Contains("Send Sms Activity Id 'NoSuchSend' names no SendSms activity", StringComparison.Ordinal));
        var definitionId = (string)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["workflowDefinition"]!["definitionId"]!;

        // The drop-down: Studio asks with the activity's own inputs; the host page names the edited workflow in a header.
        using var options = new HttpRequestMessage(HttpMethod.Post, "elsa/api/descriptors/activities/SmsActivities.WaitForDeliveryReport/options/SendSmsActivityId")
        {
            Content = Body(new JsonObject { ["context"] = new JsonObject() }),
        };
        options.Headers.Add("X-Studio-Definition-Id", definitionId); // what the Studio host page adds from the editor
        using var answer = await client.SendAsync(options);
        var items = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["items"]!;
        var item = Assert.Single(items["dropdown"]!["selectList"]!["items"]!.AsArray())!;
        Assert.Equal("SendSms1 (a1b2c3d4e5f60718)", (string?)item["text"]);
        Assert.Equal("a1b2c3d4e5f60718", (string?)item["value"]);
        Assert.True((bool)items["Refresh"]!);

        foreach (var reference in new[] { "SendSms1", "a1b2c3d4e5f60718" })
        {
            model["definitionId"] = definitionId;
            SetReference(model, reference);
            using var published = await client.PostAsync("elsa/api/workflow-definitions", Body(new JsonObject { ["model"] = model.DeepClone(), ["publish"] = true }));
            Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        }
    }

    [Fact]
    public async Task A_SendSms_needs_recipients_or_a_send_to_resend_the_failures_of_and_the_send_must_exist()
    {
        using var client = _server.CreateClient();
        async Task<string[]> PublishErrorsAsync(Action<JsonObject> change)
        {
            var model = SendAndWaitModel("Resend " + Guid.NewGuid().ToString("N")[..6], reference: "SendSms1");
            var resend = new JsonObject { ["id"] = "resend1", ["type"] = "SmsActivities.SendSms", ["version"] = 1, ["name"] = "Resend1", ["text"] = Literal("again") };
            change(resend);
            model["root"]!["activities"]!.AsArray().Add(resend);
            using var response = await client.PostAsync("elsa/api/workflow-definitions", Body(new JsonObject { ["model"] = model, ["publish"] = true }));
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            return body["validationErrors"]?.AsArray().Select(e => (string)e!["errorMessage"]!).Where(e => e.Contains("'resend1'", StringComparison.Ordinal)).ToArray() ?? [];
        }

        Assert.Contains("required input 'Recipients' has no value", Assert.Single(await PublishErrorsAsync(_ => { })), StringComparison.Ordinal);
        Assert.Contains("not both", Assert.Single(await PublishErrorsAsync(r => { r["recipients"] = Literal("+8613800138001"); r["resendFailedOf"] = Literal("SendSms1"); })), StringComparison.Ordinal);
        Assert.Contains("Resend failed of 'NoSuchSend' names no SendSms activity", Assert.Single(await PublishErrorsAsync(r => r["resendFailedOf"] = Literal("NoSuchSend"))), StringComparison.Ordinal);
        Assert.Empty(await PublishErrorsAsync(r => r["resendFailedOf"] = Literal("SendSms1")));
    }

    private static JsonObject SendAndWaitModel(string name, string reference)
    {
        var model = ApiScenarios.HelloModel(name);
        var activities = model["root"]!["activities"]!.AsArray();
        activities.Add(new JsonObject
        {
            ["id"] = "a1b2c3d4e5f60718", ["type"] = "SmsActivities.SendSms", ["version"] = 1, ["name"] = "SendSms1",
            ["recipients"] = Literal("+8613800138000"), ["text"] = Literal("hello"),
        });
        activities.Add(new JsonObject { ["id"] = "wait1", ["type"] = "SmsActivities.WaitForDeliveryReport", ["version"] = 1, ["name"] = "WaitForDeliveryReport1" });
        SetReference(model, reference);
        return model;
    }

    private static void SetReference(JsonObject model, string reference) =>
        model["root"]!["activities"]!.AsArray().Single(a => (string?)a!["id"] == "wait1")!["sendSmsActivityId"] = Literal(reference);

    private static JsonObject Literal(string value) => new() { ["typeName"] = "String", ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = value } };

    private static StringContent Body(JsonNode json) => new(json.ToJsonString(), Encoding.UTF8, "application/json");

    private static JsonNode Activity(JsonNode definition, string type) =>
        definition["root"]!["activities"]!.AsArray().First(a => (string?)a!["type"] == type)!;

    private static async Task<JsonObject> ExportAsync(HttpClient client, string definitionId) =>
        JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-definitions/{definitionId}/export"))!.AsObject();

    /// <summary>The definition without what an import assigns anew (version id and number, dates, flags, links).</summary>
    private static string Content(JsonObject definition)
    {
        var copy = definition.DeepClone().AsObject();
        foreach (var key in new[] { "id", "definitionId", "version", "isLatest", "isPublished", "createdAt", "links", "materializerName", "isMaterializerAvailable" }) copy.Remove(key);
        return WorkflowJson.Canonicalize(JsonNode.Parse(WorkflowJson.Serialize(WorkflowJson.Deserialize(copy.ToJsonString())))!.AsObject());
    }
}
