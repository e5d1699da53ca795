using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Parity;

/// <summary>Elsa's built-in activities under their type names, in Elsa-shaped definitions run through the server.</summary>
public sealed class BuiltInActivityTests : ServerTest
{
    private static readonly DateTimeOffset Epoch = new(2030, 1, 7, 8, 0, 0, TimeSpan.Zero); // a Monday
    private readonly FakeTimeProvider _time = new(Epoch);
    protected override Task<ServerHost> StartServerAsync() => ServerHost.StartAsync(configureServices: s => s.AddSingleton<TimeProvider>(_time));

    private static JsonObject SetVar(string id, string name, string script) =>
        Act(id, "Elsa.SetVariable", new JsonObject { ["variable"] = new JsonObject { ["id"] = name + "Id", ["name"] = name }, ["value"] = Js(script) });

    private async Task<JsonObject> RunAsync(string definitionId, IEnumerable<JsonObject> activities, IEnumerable<JsonObject> connections, IEnumerable<JsonObject>? variables = null)
    {
        await PublishAsync(Client, Flowchart(definitionId, activities, connections, variables));
        return await InstanceAsync(Client, await ExecuteAsync(Client, definitionId));
    }

    private static string? Var(JsonObject instance, string name) => instance["workflowState"]!["variables"]?[name]?.ToString();

    [Fact]
    public async Task The_descriptors_include_every_built_in_type()
    {
        var descriptors = JsonNode.Parse(await Client.GetStringAsync("elsa/api/descriptors/activities"))!["items"]!.AsArray();
        var types = descriptors.Select(d => (string)d!["typeName"]!).ToHashSet();
        foreach (var type in new[] { "Elsa.If", "Elsa.While", "Elsa.Sequence", "Elsa.RunJavaScript", "Elsa.Timer", "Elsa.Cron", "Elsa.StartAt", "Elsa.FlowNode", "Elsa.Fault", "Elsa.SendHttpRequest", "Elsa.FlowSendHttpRequest",
                     "Elsa.ParallelForEach", "Elsa.ExecuteWorkflow", "Elsa.DispatchWorkflow" })
            Assert.Contains(type, types);
        Assert.True((bool)descriptors.First(d => (string)d!["typeName"]! == "Elsa.Sequence")!["isBrowsable"]!);
    }

    [Fact]
    public async Task If_runs_the_branch_its_condition_picks()
    {
        var instance = await RunAsync("if",
            [
                Act("Start1", "Elsa.Start"),
                Act("If1", "Elsa.If", new JsonObject { ["condition"] = Js("getN() > 1"), ["then"] = SetVar("Yes", "Said", "'then'"), ["else"] = SetVar("No", "Said", "'else'") }),
            ],
            [Conn("Start1", "If1")], [Variable("N", "Int32", "2"), Variable("Said", "String", "")]);
        Assert.Equal("Finished", (string?)instance["subStatus"]);
        Assert.Equal("then", Var(instance, "Said"));
    }

    [Fact]
    public async Task While_repeats_its_body_while_the_condition_holds_and_sequence_runs_in_order()
    {
        var body = Act("Body", "Elsa.Sequence", new JsonObject
        {
            ["activities"] = new JsonArray(SetVar("Inc", "N", "getN() + 1"), SetVar("Log", "Trail", "getTrail() + getN()")),
        });
        var instance = await RunAsync("while",
            [Act("Start1", "Elsa.Start"), Act("While1", "Elsa.While", new JsonObject { ["condition"] = Js("getN() < 3"), ["body"] = body })],
            [Conn("Start1", "While1")], [Variable("N", "Int32", "0"), Variable("Trail", "String", "")]);
        Assert.Equal("Finished", (string?)instance["subStatus"]);
        Assert.Equal("123", Var(instance, "Trail"));
    }

    [Fact]
    public async Task FlowNode_runs_its_body_then_continues()
    {
        var instance = await RunAsync("flownode",
            [Act("Start1", "Elsa.Start"), Act("Node1", "Elsa.FlowNode", new JsonObject { ["body"] = SetVar("Inner", "Said", "'inner'") }), SetVar("After", "Said", "getSaid() + '+after'")],
            [Conn("Start1", "Node1"), Conn("Node1", "After")], [Variable("Said", "String", "")]);
        Assert.Equal("inner+after", Var(instance, "Said"));
    }

    [Fact]
    public async Task Fault_faults_the_workflow_with_its_message_and_code()
    {
        var instance = await RunAsync("fault",
            [Act("Start1", "Elsa.Start"), Act("Fault1", "Elsa.Fault", new JsonObject { ["code"] = Lit("E42"), ["message"] = Lit("card declined") }), SetVar("After", "Said", "'unreachable'")],
            [Conn("Start1", "Fault1"), Conn("Fault1", "After")], [Variable("Said", "String", "")]);
        Assert.Equal("Faulted", (string?)instance["subStatus"]);
        Assert.Contains("E42: card declined", (string)instance["workflowState"]!["incidents"]![0]!["message"]!);
        Assert.Equal("", Var(instance, "Said"));
    }

    [Fact]
    public async Task Timer_and_StartAt_inside_a_flow_wait_on_durable_timers()
    {
        var instance = await RunAsync("timers",
            [
                Act("Start1", "Elsa.Start"),
                Act("Wait1", "Elsa.Timer", new JsonObject { ["interval"] = Lit("00:10:00") }),
                Act("Wait2", "Elsa.StartAt", new JsonObject { ["dateTime"] = Lit(Epoch.AddHours(1).ToString("O")) }),
                SetVar("After", "Said", "'done'"),
            ],
            [Conn("Start1", "Wait1"), Conn("Wait1", "Wait2"), Conn("Wait2", "After")], [Variable("Said", "String", "")]);
        Assert.Equal("Suspended", (string?)instance["subStatus"]);
        var id = (string)instance["id"]!;

        _time.Advance(TimeSpan.FromMinutes(11));
        await WaitForAsync(id, i => ((JsonArray)i["workflowState"]!["bookmarks"]!).Any(b => (string?)b!["activityId"] == "Wait2"));
        _time.Advance(TimeSpan.FromMinutes(50));
        var done = await WaitForAsync(id, i => (string?)i["subStatus"] == "Finished");
        Assert.Equal("done", Var(done, "Said"));
    }

    [Theory]
    [InlineData("Elsa.Cron", "cronExpression", "0 9 * * MON-FRI", 24)] // Monday 09:00, then Tuesday 09:00
    [InlineData("Elsa.Timer", "interval", "01:00:00", 1)] // an hour after the scheduler planned it, then every hour
    public async Task A_schedule_trigger_starts_the_workflow_at_each_occurrence(string type, string input, string schedule, int hoursToNext)
    {
        var definitionId = type == "Elsa.Cron" ? "cron" : "every-hour";
        await PublishAsync(Client, Flowchart(definitionId,
            [
                Act("Trigger1", type, new JsonObject { [input] = Lit(schedule) }, new JsonObject { ["canStartWorkflow"] = true }),
                Act("Hello", "Elsa.WriteLine", new JsonObject { ["text"] = Lit("good morning") }),
            ],
            [Conn("Trigger1", "Hello")]));
        // The scheduler passes once per poll interval of the (fake) clock: let one pass see the new trigger and plan it.
        _time.Advance(TimeSpan.FromSeconds(2));
        await Task.Delay(1000);
        Assert.Equal(0, await CountInstancesAsync(definitionId));

        _time.Advance(TimeSpan.FromMinutes(61)); // Monday 09:01
        await WaitUntilAsync(async () => await CountInstancesAsync(definitionId) == 1);
        _time.Advance(TimeSpan.FromHours(hoursToNext));
        await WaitUntilAsync(async () => await CountInstancesAsync(definitionId) == 2);
        await Task.Delay(500);
        Assert.Equal(2, await CountInstancesAsync(definitionId));
    }

    [Fact]
    public async Task ParallelForEach_runs_a_branch_per_item_that_each_wait_and_completes_once_all_have()
    {
        var body = Act("Body", "Elsa.Sequence", new JsonObject
        {
            ["activities"] = new JsonArray(Act("Pause", "Elsa.Timer", new JsonObject { ["interval"] = Lit("00:01:00") }), SetVar("Note", "Trail", "getTrail() + getCurrentValue()")),
        });
        var instance = await RunAsync("parallel",
            [
                Act("Start1", "Elsa.Start"),
                Act("Loop", "Elsa.ParallelForEach", new JsonObject { ["items"] = Js("['a', 'b', 'c']"), ["body"] = body }),
                SetVar("After", "Said", "'after ' + getTrail().length"),
            ],
            [Conn("Start1", "Loop"), Conn("Loop", "After")], [Variable("Trail", "String", ""), Variable("Said", "String", "")]);
        Assert.True((string?)instance["subStatus"] == "Suspended" && instance["workflowState"]!["bookmarks"]!.AsArray().Count == 3,
            $"every branch waits at once; bookmarks: {instance["workflowState"]!["bookmarks"]!.ToJsonString()}");

        _time.Advance(TimeSpan.FromMinutes(2));
        var done = await WaitForAsync((string)instance["id"]!, i => (string?)i["subStatus"] == "Finished");
        Assert.Equal("abc", string.Concat(Var(done, "Trail")!.Order()));
        Assert.Equal("after 3", Var(done, "Said"));
        var runs = await ExecutionCountsAsync(Client, (string)instance["id"]!);
        Assert.True(runs["Loop"] == 1 && runs["Note"] == 3 && runs["After"] == 1, "ran: " + string.Join(", ", runs.Select(r => $"{r.Key}={r.Value}")));
    }

    [Theory]
    [InlineData("workflows/http-target", "201:yes")]
    [InlineData("workflows/no-such-path", "unmatched:404")]
    [InlineData("http://127.0.0.1:1/", "failed")]
    public async Task FlowSendHttpRequest_continues_by_the_expected_status_code(string url, string expected)
    {
        await PublishAsync(Client, Flowchart("http-target",
            [HttpTrigger("Http1", "http-target"), Act("Respond1", "Elsa.WriteHttpResponse", new JsonObject { ["statusCode"] = Lit("201"), ["content"] = Js("({ ok: 'yes' })") })],
            [Conn("Http1", "Respond1")]));
        var target = url.StartsWith("http", StringComparison.Ordinal) ? url : new Uri(Server.BaseAddress, url).ToString();
        var instance = await RunAsync("http-call-" + expected.Split(':')[0],
            [
                Act("Start1", "Elsa.Start"),
                Act("Call", "Elsa.FlowSendHttpRequest", new JsonObject { ["url"] = Lit(target), ["method"] = Lit("GET"), ["expectedStatusCodes"] = Expr("Object", "[201]", "Int32[]") }),
                SetVar("Created", "Said", "getStatusCodeFromCall() + ':' + getParsedContentFromCall().ok"),
                SetVar("Unmatched", "Said", "'unmatched:' + getOutputFrom('Call', 'StatusCode')"),
                SetVar("Failed", "Said", "'failed'"),
            ],
            [Conn("Start1", "Call"), Conn("Call", "Created", "201"), Conn("Call", "Unmatched", "Unmatched status code"), Conn("Call", "Failed", "Failed to connect")],
            [Variable("Said", "String", "")]);
        Assert.Equal("Finished", (string?)instance["subStatus"]);
        Assert.Equal(expected, Var(instance, "Said"));
    }

    [Theory]
    [InlineData("workflows/http-target", "case 201+after")]
    [InlineData("workflows/no-such-path", "unmatched 404+after")]
    [InlineData("http://127.0.0.1:1/", "failed+after")]
    public async Task SendHttpRequest_runs_the_activity_of_the_status_code_case(string url, string expected)
    {
        await PublishAsync(Client, Flowchart("http-target",
            [HttpTrigger("Http1", "http-target"), Act("Respond1", "Elsa.WriteHttpResponse", new JsonObject { ["statusCode"] = Lit("201"), ["content"] = Lit("made") })],
            [Conn("Http1", "Respond1")]));
        var target = url.StartsWith("http", StringComparison.Ordinal) ? url : new Uri(Server.BaseAddress, url).ToString();
        // The shape Elsa serializes: the cases are a plain (not expression-wrapped) list of { statusCode, activity }.
        var call = Act("Call", "Elsa.SendHttpRequest", new JsonObject
        {
            ["url"] = Lit(target),
            ["method"] = Lit("GET"),
            ["expectedStatusCodes"] = new JsonArray(
                new JsonObject { ["statusCode"] = 201, ["activity"] = SetVar("On201", "Said", "'case ' + getOutputFrom('Call', 'StatusCode')") },
                new JsonObject { ["statusCode"] = 500, ["activity"] = SetVar("On500", "Said", "'case 500'") }),
            ["unmatchedStatusCode"] = SetVar("Unmatched", "Said", "'unmatched ' + getOutputFrom('Call', 'StatusCode')"),
            ["failedToConnect"] = SetVar("Failed", "Said", "'failed'"),
        });
        var instance = await RunAsync("http-cases-" + expected.Split(' ', '+')[0],
            [Act("Start1", "Elsa.Start"), call, SetVar("After", "Said", "getSaid() + '+after'")],
            [Conn("Start1", "Call"), Conn("Call", "After")],
            [Variable("Said", "String", "")]);
        Assert.True((string?)instance["subStatus"] == "Finished", $"sub-status {instance["subStatus"]}, incidents {instance["workflowState"]?["incidents"]?.ToJsonString()}");
        Assert.Equal(expected, Var(instance, "Said"));
    }

    private async Task<int> CountInstancesAsync(string definitionId)
    {
        using var response = await Client.PostAsync("elsa/api/workflow-instances",
            new StringContent($$"""{"definitionId":"{{definitionId}}","page":0,"pageSize":50}""", System.Text.Encoding.UTF8, "application/json"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return body["items"]!.AsArray().Count(i => (string?)i!["definitionId"] == definitionId);
    }

    private async Task<JsonObject> WaitForAsync(string instanceId, Func<JsonObject, bool> condition)
    {
        JsonObject? last = null;
        await WaitUntilAsync(async () => condition(last = await InstanceAsync(Client, instanceId)));
        return last!;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The expected state was not reached.");
            await Task.Delay(100);
        }
    }
}
