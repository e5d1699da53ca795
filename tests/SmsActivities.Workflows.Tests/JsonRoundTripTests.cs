using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
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

    /// <summary>
    /// The hashes bookmarks and triggers are stored under: a change to how they are computed orphans every waiting
    /// bookmark. Pinned to values computed by the first implementation (text concatenated, then hashed).
    /// </summary>
    [Fact]
    public void Bookmark_hashes_stay_those_stored_bookmarks_were_made_with()
    {
        Assert.Equal("1436c485bbd518a66f289fdf2d85ca89016888d11b08589e51f86b271493da0b", BookmarkHasher.Hash("SmsActivities.WaitForDeliveryReport",
            JsonNode.Parse("""{"vendor":"tencent","messageId":"m-1+2 短信","z":[1,{"b":null,"a":true}],"n":1.50}""")));
        Assert.Equal("1b90a6901548b34bf16cd2136c1ec57847b84ce6ccc73a43839fd20669141d99", BookmarkHasher.Hash("Elsa.Event", null));
        Assert.Equal("059ac6767e05db05fc61c2fb7bdc98339b43c91412591881a87957c2b66984e5", BookmarkHasher.Hash("Elsa.Event", JsonValue.Create("x")));
    }
}
