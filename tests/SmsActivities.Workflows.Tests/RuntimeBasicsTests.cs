using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class RuntimeBasicsTests
{
    [Fact]
    public async Task Start_then_WriteLine_runs_to_completion_and_is_journaled()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("hello",
            Arr(Act("Start1", "Elsa.Start"), Act("WriteLine1", "Elsa.WriteLine", $"\"text\":{Lit("Hello")}")),
            Arr(Conn("Start1", "WriteLine1")));

        var result = await host.Runtime.StartAsync("hello");

        Assert.Equal(WorkflowStatus.Finished, result.Status);
        Assert.Equal(WorkflowSubStatus.Finished, result.SubStatus);
        Assert.Equal("Hello", host.Console.ToString().Trim());
        var journal = await host.Instances.GetJournalAsync(result.InstanceId);
        Assert.Contains(journal.Items, r => r is { ActivityId: "WriteLine1", EventName: "Completed", NodeId: "Workflow1:Flowchart1:WriteLine1" });
        Assert.Contains(journal.Items, r => r is { ActivityId: "Start1", EventName: "Started" });
        var executions = await host.Instances.GetActivityExecutionsAsync(result.InstanceId, "Workflow1:Flowchart1:WriteLine1");
        Assert.Equal("Hello", Assert.Single(executions).ActivityState!["Text"]!.GetValue<string>());
    }

    [Fact]
    public async Task JavaScript_sees_variables_workflow_input_and_earlier_outputs_and_decides()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("js",
            Arr(Act("Set1", "Elsa.SetVariable", $$"""
                    "variable":{"id":"v1","name":"Greeting"},"value":{{Js("getInput('name') + '!'")}}
                    """),
                Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("go")}"),
                Act("Decision1", "Elsa.FlowDecision", $"\"condition\":{Js("variables.Greeting === 'Ann!' && getOutputFrom('Event1', 'Result').n === 2")}"),
                Act("Yes", "Elsa.WriteLine", $"\"text\":{Js("'yes ' + getVariable('Greeting')")}"),
                Act("No", "Elsa.WriteLine", $"\"text\":{Lit("no")}")),
            Arr(Conn("Set1", "Event1"), Conn("Event1", "Decision1"), Conn("Decision1", "Yes", "True"), Conn("Decision1", "No", "False")),
            """[{"id":"v1","name":"Greeting","typeName":"String","value":""}]""");

        var started = await host.Runtime.StartAsync("js", new Runtime.StartWorkflowRequest { Input = new Dictionary<string, object?> { ["name"] = "Ann" } });
        Assert.Equal(WorkflowSubStatus.Suspended, started.SubStatus);
        var sent = await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", JsonNode.Parse("""{"eventName":"go"}"""),
            new JsonObject { ["payload"] = new JsonObject { ["n"] = 2 } }));

        Assert.Equal(WorkflowSubStatus.Finished, Assert.Single(sent.Runs).SubStatus);
        Assert.Equal("yes Ann!", host.Console.ToString().Trim());
        var variables = await host.Instances.GetVariablesAsync(started.InstanceId);
        Assert.Equal("Ann!", variables!["Greeting"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_faulting_activity_becomes_an_incident_and_faults_the_instance()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("boom", Arr(Act("Bad", "Elsa.WriteLine", $"\"text\":{Js("throw new Error('kaput')")}")));

        var result = await host.Runtime.StartAsync("boom");

        Assert.Equal(WorkflowStatus.Finished, result.Status);
        Assert.Equal(WorkflowSubStatus.Faulted, result.SubStatus);
        var incident = Assert.Single(result.Incidents);
        Assert.Equal("Bad", incident.ActivityId);
        Assert.Contains("kaput", incident.Message);
        var summary = Assert.Single((await host.Instances.ListAsync(new Runtime.WorkflowInstanceQuery { HasIncidents = true })).Items);
        Assert.Equal(1, summary.IncidentCount);
        var journal = await host.Instances.GetJournalAsync(result.InstanceId, new Runtime.JournalQuery { EventNames = ["Faulted"] });
        Assert.Equal("Bad", Assert.Single(journal.Items).ActivityId);
    }
}
