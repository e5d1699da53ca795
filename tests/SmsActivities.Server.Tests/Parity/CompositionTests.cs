using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Parity;

/// <summary>Child workflows through the server: ExecuteWorkflow, and a published workflow that is usable as an activity.</summary>
public sealed class CompositionTests : ServerTest
{
    private static JsonObject SetVar(string id, string name, string script) =>
        Act(id, "Elsa.SetVariable", new JsonObject { ["variable"] = new JsonObject { ["id"] = name + "Id", ["name"] = name }, ["value"] = Js(script) });

    /// <summary>"Greeter": input Person, output Greeting, usable as an activity, as Studio saves such a definition.</summary>
    private async Task PublishGreeterAsync()
    {
        var greeter = Flowchart("greeter",
            [Act("Start1", "Elsa.Start"), Act("Greet", "Elsa.SetOutput", new JsonObject { ["outputName"] = Lit("Greeting"), ["outputValue"] = Js("`hello ${getInput('Person')}`") })],
            [Conn("Start1", "Greet")]);
        greeter["name"] = "Greeter";
        greeter["options"]!["usableAsActivity"] = true;
        greeter["inputs"] = new JsonArray(new JsonObject { ["type"] = "String", ["name"] = "Person", ["displayName"] = "Person", ["isArray"] = false, ["uiHint"] = "singleline" });
        greeter["outputs"] = new JsonArray(new JsonObject { ["type"] = "String", ["name"] = "Greeting", ["displayName"] = "Greeting", ["isArray"] = false });
        await PublishAsync(Client, greeter);
    }

    [Fact]
    public async Task A_workflow_usable_as_activity_is_in_the_toolbox_and_runs_with_its_inputs_and_outputs()
    {
        await PublishGreeterAsync();
        var descriptors = JsonNode.Parse(await Client.GetStringAsync("elsa/api/descriptors/activities"))!["items"]!.AsArray();
        var greeter = descriptors.FirstOrDefault(d => (string?)d!["typeName"] == "Greeter");
        Assert.True(greeter != null, "no Greeter descriptor among " + string.Join(", ", descriptors.Select(d => (string?)d!["typeName"])));
        Assert.Equal("Person", (string?)greeter!["inputs"]![0]!["name"]);
        Assert.Equal("Greeting", (string?)greeter["outputs"]![0]!["name"]);
        Assert.Equal("greeter", (string?)greeter["constructionProperties"]!["WorkflowDefinitionId"]);

        // The node as Studio writes it after a drop: construction properties, then camel-cased synthetic inputs and outputs.
        var node = Act("Greet1", "Greeter", new JsonObject
        {
            ["workflowDefinitionId"] = "greeter",
            ["workflowDefinitionVersionId"] = (string?)greeter["constructionProperties"]!["WorkflowDefinitionVersionId"],
            ["latestAvailablePublishedVersion"] = 1,
            ["person"] = Lit("Ann"),
            ["greeting"] = new JsonObject { ["typeName"] = "String", ["memoryReference"] = new JsonObject { ["id"] = "SaidId" } },
        });
        await PublishAsync(Client, Flowchart("uses-greeter",
            [Act("Start1", "Elsa.Start"), node, SetVar("After", "Said", "getSaid() + '!'")],
            [Conn("Start1", "Greet1"), Conn("Greet1", "After")], [Variable("Said", "String", "")]));
        var instance = await InstanceAsync(Client, await ExecuteAsync(Client, "uses-greeter"));

        Assert.True((string?)instance["subStatus"] == "Finished", $"sub-status {instance["subStatus"]}, incidents {instance["workflowState"]?["incidents"]?.ToJsonString()}");
        Assert.Equal("hello Ann!", instance["workflowState"]!["variables"]?["Said"]?.ToString());
    }

    [Fact]
    public async Task ExecuteWorkflow_as_Elsa_serializes_it_maps_the_child_output()
    {
        await PublishGreeterAsync();
        await PublishAsync(Client, Flowchart("executes-greeter",
            [
                Act("Start1", "Elsa.Start"),
                Act("Run", "Elsa.ExecuteWorkflow", new JsonObject
                {
                    ["workflowDefinitionId"] = Lit("greeter"),
                    ["input"] = Expr("Object", "{\"Person\":\"Bo\"}", "ObjectMap"),
                    ["waitForCompletion"] = Expr("Literal", "true", "Boolean"),
                }),
                SetVar("After", "Said", "getOutputFrom('Run', 'Result').output.Greeting"),
            ],
            [Conn("Start1", "Run"), Conn("Run", "After")], [Variable("Said", "String", "")]));
        var instance = await InstanceAsync(Client, await ExecuteAsync(Client, "executes-greeter"));
        Assert.True((string?)instance["subStatus"] == "Finished", $"sub-status {instance["subStatus"]}, incidents {instance["workflowState"]?["incidents"]?.ToJsonString()}");
        Assert.Equal("hello Bo", instance["workflowState"]!["variables"]?["Said"]?.ToString());
    }
}
