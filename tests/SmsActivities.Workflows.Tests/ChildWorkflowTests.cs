using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class ChildWorkflowTests
{
    /// <summary>A child that greets its input's Name, optionally after waiting for the event "go", and returns Greeting.</summary>
    private static async Task PublishChildAsync(TestHost host, bool waits, bool faults = false)
    {
        var activities = new List<string>
        {
            Act("Start1", "Elsa.Start"),
            Act("Wait", "Elsa.Event", $"\"eventName\":{Lit("go")}"),
            Act("Greet", "Elsa.SetOutput", $"\"outputName\":{Lit("Greeting")},\"outputValue\":{Js("`hello ${getInput('Name')} from ${getInput('ParentInstanceId') ? 'a parent' : 'nobody'}`")}"),
            Act("Child", "Elsa.WriteLine", $"\"text\":{Lit("child done")}"),
        };
        if (faults) activities.Add(Act("Boom", "Elsa.Fault", $"\"message\":{Lit("child broke")}"));
        var connections = new List<string> { waits ? Conn("Start1", "Wait") : Conn("Start1", "Greet"), Conn("Wait", "Greet"), Conn("Greet", "Child") };
        if (faults) connections.Add(Conn("Child", "Boom"));
        await host.PublishAsync("child", Arr([.. activities]), Arr([.. connections]));
    }

    private static string Parent(string type, bool wait) => Arr(
        Act("Start1", "Elsa.Start"),
        Act("Run", type, $"\"workflowDefinitionId\":{Lit("child")},\"input\":{Js("({ Name: 'Ann' })")},\"waitForCompletion\":{Js(wait ? "true" : "false")}"),
        Act("After", "Elsa.WriteLine", $"\"text\":{Js("'parent saw ' + JSON.stringify(getOutputFrom('Run', 'Result'))")}"));

    private static string Lines(TestHost host) => string.Join(" | ", host.Console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    [Fact]
    public async Task ExecuteWorkflow_runs_a_child_that_finishes_at_once_and_maps_its_output()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishChildAsync(host, waits: false);
        await host.PublishAsync("parent", Parent("Elsa.ExecuteWorkflow", wait: true), Arr(Conn("Start1", "Run"), Conn("Run", "After")));

        var run = await host.Runtime.StartAsync("parent");

        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, $"parent: {run.SubStatus}, lines: {Lines(host)}");
        var lines = Lines(host);
        Assert.StartsWith("child done | parent saw {", lines);
        Assert.Contains("\"status\":\"Finished\"", lines);
        Assert.Contains("\"output\":{\"Greeting\":\"hello Ann from a parent\"}", lines);
    }

    [Fact]
    public async Task ExecuteWorkflow_waits_for_a_child_that_waits_and_resumes_when_it_finishes()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishChildAsync(host, waits: true);
        await host.PublishAsync("parent", Parent("Elsa.ExecuteWorkflow", wait: true), Arr(Conn("Start1", "Run"), Conn("Run", "After")));

        var run = await host.Runtime.StartAsync("parent");
        Assert.True(run.SubStatus == WorkflowSubStatus.Suspended, $"parent after start: {run.SubStatus}, lines: {Lines(host)}");
        Assert.Equal("", Lines(host));

        await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }));

        await host.WaitForAsync(run.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished, TimeSpan.FromSeconds(30));
        var lines = Lines(host);
        Assert.StartsWith("child done | parent saw {", lines);
        Assert.Contains("\"output\":{\"Greeting\":\"hello Ann from a parent\"}", lines);
    }

    [Fact]
    public async Task A_waiting_parent_learns_that_its_child_faulted()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishChildAsync(host, waits: true, faults: true);
        await host.PublishAsync("parent", Parent("Elsa.ExecuteWorkflow", wait: true), Arr(Conn("Start1", "Run"), Conn("Run", "After")));
        var run = await host.Runtime.StartAsync("parent");

        await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }));

        await host.WaitForAsync(run.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished, TimeSpan.FromSeconds(30));
        Assert.Contains("\"subStatus\":\"Faulted\"", Lines(host));
    }

    [Fact]
    public async Task DispatchWorkflow_without_waiting_goes_on_while_the_child_waits()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishChildAsync(host, waits: true);
        await host.PublishAsync("parent", Parent("Elsa.DispatchWorkflow", wait: false), Arr(Conn("Start1", "Run"), Conn("Run", "After")));

        var run = await host.Runtime.StartAsync("parent");

        Assert.True(run.SubStatus == WorkflowSubStatus.Finished, $"parent: {run.SubStatus}, lines: {Lines(host)}");
        Assert.Equal("parent saw null", Lines(host));
        // The child is queued: the dispatcher starts it after the parent's commit.
        await Sql.WaitForAsync(db.Path, "SELECT COUNT(*) FROM WorkflowInstances WHERE DefinitionId = 'child' AND SubStatus = 'Suspended'", n => n == 1, "the dispatched child");
        var sent = await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }));
        var child = Assert.Single(sent.Runs);
        Assert.Equal(WorkflowSubStatus.Finished, child.SubStatus);
        Assert.Equal("hello Ann from a parent", child.Output["Greeting"]?.GetValue<string>());
    }

    [Fact]
    public async Task DispatchWorkflow_waiting_gets_the_child_output_as_its_result()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishChildAsync(host, waits: true);
        await host.PublishAsync("parent", Parent("Elsa.DispatchWorkflow", wait: true), Arr(Conn("Start1", "Run"), Conn("Run", "After")));
        var run = await host.Runtime.StartAsync("parent");

        await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }));

        await host.WaitForAsync(run.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished, TimeSpan.FromSeconds(30));
        Assert.Equal("child done | parent saw {\"Greeting\":\"hello Ann from a parent\"}", Lines(host));
    }

    [Fact]
    public async Task An_unknown_child_definition_faults_the_parent_naming_it()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("parent", Parent("Elsa.ExecuteWorkflow", wait: true), Arr(Conn("Start1", "Run"), Conn("Run", "After")));
        var run = await host.Runtime.StartAsync("parent");
        Assert.Equal(WorkflowSubStatus.Faulted, run.SubStatus);
        Assert.Contains("'child'", Assert.Single(run.Incidents).Message);
    }
}
