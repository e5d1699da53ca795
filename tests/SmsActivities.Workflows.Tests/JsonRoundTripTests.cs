using System.Text.Json.Nodes;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Tests;

public class JsonRoundTripTests
{
    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));

    [Fact]
    public void Studio_example_round_trips_without_loss()
    {
        var original = JsonNode.Parse(Fixture("studio-example.json"))!;
        var definition = WorkflowJson.Deserialize(original.ToJsonString());
        var written = JsonNode.Parse(WorkflowJson.Serialize(definition))!;
        Assert.True(JsonNode.DeepEquals(original, written), written.ToJsonString());
        Assert.Equal("Elsa.WriteLine", definition.Root.Activities![1].Type);
        Assert.Equal("Hello from probe", definition.Root.Activities[1].GetProperty("text")!["expression"]!["value"]!.GetValue<string>());
    }

    [Fact]
    public void Legacy_connections_are_read_and_written_in_the_new_form()
    {
        var definition = WorkflowJson.Deserialize(Fixture("legacy-workflow1.json"));
        var connection = Assert.Single(definition.Root.Connections!);
        Assert.Equal(new Endpoint("WriteLine1", "Done"), connection.Source);
        Assert.Equal(new Endpoint("WriteLine2", "In"), connection.Target);
        Assert.Equal("WriteLine1", definition.Root.Start);
        var written = JsonNode.Parse(WorkflowJson.Serialize(definition))!;
        Assert.Equal("WriteLine2", written["root"]!["connections"]![0]!["target"]!["activity"]!.GetValue<string>());
    }

    [Fact]
    public void A_new_root_without_activities_or_connections_is_accepted()
    {
        var definition = WorkflowJson.Deserialize("""{"definitionId":"d","root":{"id":"abc","type":"Elsa.Flowchart","version":1,"name":"Flowchart1"}}""");
        Assert.Null(definition.Root.Activities);
        Assert.Null(definition.Root.Connections);
        var written = WorkflowJson.Serialize(definition);
        Assert.DoesNotContain("\"activities\"", written);
    }

    [Fact]
    public void Canonical_json_sorts_keys_so_hashes_are_stable()
    {
        Assert.Equal(WorkflowJson.Canonicalize(JsonNode.Parse("""{"b":1,"a":{"d":2,"c":[1,2]}}""")),
                     WorkflowJson.Canonicalize(JsonNode.Parse("""{"a":{"c":[1,2],"d":2},"b":1}""")));
    }
}
