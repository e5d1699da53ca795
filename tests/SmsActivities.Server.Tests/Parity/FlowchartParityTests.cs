using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Parity;

/// <summary>
/// Elsa 3's flowchart join semantics, on Elsa-shaped definitions run through the server: the counter-based default
/// and the token-based mode with each merge mode. Counts come from the activity-execution records Studio reads.
/// </summary>
public sealed class FlowchartParityTests : ServerTest
{
    private static JsonObject Line(string id, string text = "x", JsonObject? customProperties = null) =>
        Act(id, "Elsa.WriteLine", new JsonObject { ["text"] = Lit(text) }, customProperties);

    private static JsonObject Fork(string id) => Act(id, "Elsa.FlowFork", new JsonObject { ["branches"] = Expr("Object", "[\"a\",\"b\"]", "String[]") });

    private static JsonObject Decision(string id, bool condition) => Act(id, "Elsa.FlowDecision", new JsonObject { ["condition"] = Js(condition ? "true" : "false") });

    private static JsonObject Merge(string mode) => new() { ["mergeMode"] = mode };

    private static readonly JsonObject TokenBased = new() { ["customProperties"] = new JsonObject { ["Flowchart:ExecutionMode"] = "TokenBased" } };

    private async Task<(JsonObject Instance, Dictionary<string, int> Counts)> RunAsync(string definitionId, IEnumerable<JsonObject> activities,
        IEnumerable<JsonObject> connections, JsonObject? flowchartProperties = null, IEnumerable<JsonObject>? variables = null)
    {
        await PublishAsync(Client, Flowchart(definitionId, activities, connections, variables, flowchartProperties));
        var instanceId = await ExecuteAsync(Client, definitionId);
        return (await InstanceAsync(Client, instanceId), await ExecutionCountsAsync(Client, instanceId));
    }

    private static int Count(Dictionary<string, int> counts, string id) => counts.GetValueOrDefault(id);

    [Fact]
    public async Task Counter_based_a_fork_converging_on_one_activity_runs_its_tail_once()
    {
        var (instance, counts) = await RunAsync("converge-fork",
            [Act("Start1", "Elsa.Start"), Fork("Fork1"), Line("A"), Line("B"), Line("Summary"), Line("After")],
            [Conn("Start1", "Fork1"), Conn("Fork1", "A", "a"), Conn("Fork1", "B", "b"), Conn("A", "Summary"), Conn("B", "Summary"), Conn("Summary", "After")]);
        Assert.Equal("Finished", (string?)instance["subStatus"]);
        Assert.Equal(1, Count(counts, "Summary"));
        Assert.Equal(1, Count(counts, "After"));
    }

    [Fact]
    public async Task Counter_based_a_branch_a_decision_ruled_out_does_not_block_the_merge()
    {
        var (instance, counts) = await RunAsync("converge-decision",
            [Act("Start1", "Elsa.Start"), Decision("Decide", true), Line("Yes"), Line("No"), Line("Summary")],
            [Conn("Start1", "Decide"), Conn("Decide", "Yes", "True"), Conn("Decide", "No", "False"), Conn("Yes", "Summary"), Conn("No", "Summary")]);
        Assert.Equal("Finished", (string?)instance["subStatus"]);
        Assert.Equal(0, Count(counts, "No"));
        Assert.Equal(1, Count(counts, "Summary"));
    }

    [Fact]
    public async Task Counter_based_a_loop_back_runs_again_each_time_it_is_taken()
    {
        var (instance, counts) = await RunAsync("loop",
            [
                Act("Start1", "Elsa.Start"),
                Act("Check", "Elsa.FlowDecision", new JsonObject { ["condition"] = Js("getI() < 3") }),
                Act("Inc", "Elsa.RunJavaScript", new JsonObject { ["script"] = Lit("setI(getI() + 1)") }),
                Line("Done"),
            ],
            [Conn("Start1", "Check"), Conn("Check", "Inc", "True"), Conn("Inc", "Check"), Conn("Check", "Done", "False")],
            variables: [Variable("I", "Int32", "0")]);
        Assert.Equal("Finished", (string?)instance["subStatus"]);
        Assert.Equal(4, Count(counts, "Check"));
        Assert.Equal(3, Count(counts, "Inc"));
        Assert.Equal(1, Count(counts, "Done"));
    }

    [Theory]
    [InlineData(null, 1)]
    [InlineData("None", 1)]
    [InlineData("Stream", 1)]
    [InlineData("Merge", 1)]
    [InlineData("Converge", 1)]
    [InlineData("Cascade", 2)]
    [InlineData("Race", 1)]
    public async Task Token_based_both_branches_taken(string? mergeMode, int tailRuns)
    {
        var id = "token-fork-" + (mergeMode ?? "unset").ToLowerInvariant();
        var (instance, counts) = await RunAsync(id,
            [Act("Start1", "Elsa.Start"), Fork("Fork1"), Line("A"), Line("B"), Line("Tail", "tail", mergeMode is null ? null : Merge(mergeMode))],
            [Conn("Start1", "Fork1"), Conn("Fork1", "A", "a"), Conn("Fork1", "B", "b"), Conn("A", "Tail"), Conn("B", "Tail")],
            TokenBased);
        Assert.Equal("Finished", (string?)instance["subStatus"]);
        Assert.Equal(tailRuns, Count(counts, "Tail"));
    }

    [Theory]
    [InlineData("Stream", 1)]
    [InlineData("Cascade", 1)]
    [InlineData("Merge", 0)]
    [InlineData("Converge", 0)]
    public async Task Token_based_one_branch_ruled_out_by_a_decision(string mergeMode, int tailRuns)
    {
        var (instance, counts) = await RunAsync("token-decision-" + mergeMode.ToLowerInvariant(),
            [Act("Start1", "Elsa.Start"), Decision("Decide", true), Line("Yes"), Line("No"), Line("Tail", "tail", Merge(mergeMode))],
            [Conn("Start1", "Decide"), Conn("Decide", "Yes", "True"), Conn("Decide", "No", "False"), Conn("Yes", "Tail"), Conn("No", "Tail")],
            TokenBased);
        Assert.Equal("Finished", (string?)instance["subStatus"]);
        Assert.Equal(tailRuns, Count(counts, "Tail"));
    }

    [Fact]
    public async Task Token_based_race_runs_on_the_first_branch_and_cancels_the_slow_one()
    {
        var (instance, counts) = await RunAsync("token-race",
            [
                Act("Start1", "Elsa.Start"), Fork("Fork1"), Line("Fast"),
                Act("Slow", "Elsa.Delay", new JsonObject { ["timeSpan"] = Lit("01:00:00") }),
                Line("Tail", "tail", Merge("Race")),
            ],
            [Conn("Start1", "Fork1"), Conn("Fork1", "Fast", "a"), Conn("Fork1", "Slow", "b"), Conn("Fast", "Tail"), Conn("Slow", "Tail")],
            TokenBased);
        Assert.Equal("Finished", (string?)instance["subStatus"]);
        Assert.Equal(1, Count(counts, "Tail"));
        Assert.Empty(instance["workflowState"]!["bookmarks"]!.AsArray());
    }
}
