using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class FlowchartTests
{
    private static readonly string EventVsDelay = Arr(
        Act("Start1", "Elsa.Start"),
        Act("Fork1", "Elsa.FlowFork", $"\"branches\":{Js("['event','timer']")}"),
        Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("reply")}"),
        Act("Delay1", "Elsa.Delay", $"\"timeSpan\":{Lit("00:10:00")}"),
        Act("Join1", "Elsa.FlowJoin", $"\"mode\":{Lit("WaitAny")}"),
        Act("Said", "Elsa.WriteLine", $"\"text\":{Js("getOutputFrom('Event1') ? 'reply' : 'timeout'")}"));

    private static readonly string EventVsDelayConnections = Arr(
        Conn("Start1", "Fork1"), Conn("Fork1", "Event1", "event"), Conn("Fork1", "Delay1", "timer"),
        Conn("Event1", "Join1"), Conn("Delay1", "Join1"), Conn("Join1", "Said"));

    [Theory]
    [InlineData(null, 1)]
    [InlineData("TokenBased", 2)]
    public async Task The_execution_mode_of_the_run_options_wins_over_the_flowcharts_default(string? mode, int tailRuns)
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        // A Cascade merge runs once per arriving token in the token-based model; the counter-based one runs it once.
        await host.PublishAsync("run-mode",
            Arr(Act("Start1", "Elsa.Start"), Act("Fork1", "Elsa.FlowFork", $"\"branches\":{Js("['a','b']")}"),
                Act("A", "Elsa.WriteLine", $"\"text\":{Lit("a")}"), Act("B", "Elsa.WriteLine", $"\"text\":{Lit("b")}"),
                Act("Tail", "Elsa.WriteLine", $"\"text\":{Lit("tail")},\"customProperties\":{{\"mergeMode\":\"Cascade\"}}")),
            Arr(Conn("Start1", "Fork1"), Conn("Fork1", "A", "a"), Conn("Fork1", "B", "b"), Conn("A", "Tail"), Conn("B", "Tail")));
        var run = await host.Runtime.StartAsync("run-mode", new Runtime.StartWorkflowRequest
        {
            Properties = mode is null ? null : new Dictionary<string, object?> { ["Flowchart:ExecutionMode"] = mode },
        });
        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal(tailRuns, host.Console.ToString().Split('\n', StringSplitOptions.TrimEntries).Count(l => l == "tail"));
    }

    [Fact]
    public async Task Wait_any_join_event_wins_and_the_delay_is_cancelled()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("race", EventVsDelay, EventVsDelayConnections);
        var started = await host.Runtime.StartAsync("race");
        Assert.Equal(2, started.Bookmarks.Count);

        var sent = await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "reply" }, new JsonObject { ["payload"] = "hi" }));

        var run = Assert.Single(sent.Runs);
        Assert.Equal(WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Empty(run.Bookmarks);
        Assert.Equal("reply", host.Console.ToString().Trim());
        var cancelled = await host.Instances.GetJournalAsync(started.InstanceId, new Runtime.JournalQuery { EventNames = ["Cancelled"] });
        Assert.Equal("Delay1", Assert.Single(cancelled.Items).ActivityId);
    }

    [Fact]
    public async Task Wait_any_join_delay_wins_when_the_timer_falls_due()
    {
        using var db = new TempDatabase();
        var time = new ShiftableTimeProvider();
        await using var host = await TestHost.StartAsync(db.Path, time);
        await host.PublishAsync("race", EventVsDelay, EventVsDelayConnections);
        var started = await host.Runtime.StartAsync("race");

        time.Advance(TimeSpan.FromMinutes(11));

        await host.WaitForAsync(started.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished);
        Assert.Equal("timeout", host.Console.ToString().Trim());
        var late = await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "reply" }) { KeepInInbox = false });
        Assert.Empty(late.Runs);
    }

    [Fact]
    public async Task A_wait_all_join_waits_for_live_branches_but_not_for_a_branch_a_decision_skipped()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("merge",
            Arr(Act("Fork1", "Elsa.FlowFork", $"\"branches\":{Js("['x','y']")}"),
                Act("Wait", "Elsa.Event", $"\"eventName\":{Lit("x")}"),
                Act("Decide", "Elsa.FlowDecision", $"\"condition\":{Js("false")}"),
                Act("Skipped", "Elsa.WriteLine", $"\"text\":{Lit("skipped")}"),
                Act("Join1", "Elsa.FlowJoin", $"\"mode\":{Lit("WaitAll")}"),
                Act("After", "Elsa.WriteLine", $"\"text\":{Lit("merged")}")),
            Arr(Conn("Fork1", "Wait", "x"), Conn("Fork1", "Decide", "y"), Conn("Decide", "Skipped", "True"),
                Conn("Wait", "Join1"), Conn("Skipped", "Join1"), Conn("Join1", "After")));

        var started = await host.Runtime.StartAsync("merge");
        Assert.Equal(WorkflowSubStatus.Suspended, started.SubStatus);
        Assert.Equal("", host.Console.ToString().Trim());

        await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "x" }));

        Assert.Equal("merged", host.Console.ToString().Trim());
        Assert.Equal(WorkflowSubStatus.Finished, (await host.Instances.GetStateAsync(started.InstanceId))!.SubStatus);
    }

    [Fact]
    public async Task A_loop_through_a_decision_runs_until_the_condition_fails()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("loop",
            Arr(Act("Init", "Elsa.SetVariable", $"\"variable\":{{\"id\":\"i\",\"name\":\"I\"}},\"value\":{Js("0")}"),
                Act("Check", "Elsa.FlowDecision", $"\"condition\":{Js("getVariable('I') < 3")}"),
                Act("Body", "Elsa.WriteLine", $"\"text\":{Js("'i=' + getVariable('I')")}"),
                Act("Inc", "Elsa.SetVariable", $"\"variable\":{{\"id\":\"i\",\"name\":\"I\"}},\"value\":{Js("getVariable('I') + 1")}"),
                Act("End1", "Elsa.End")),
            Arr(Conn("Init", "Check"), Conn("Check", "Body", "True"), Conn("Body", "Inc"), Conn("Inc", "Check"), Conn("Check", "End1", "False")),
            """[{"id":"i","name":"I","typeName":"Int32","value":"0"}]""");

        var result = await host.Runtime.StartAsync("loop");

        Assert.Equal(WorkflowSubStatus.Finished, result.SubStatus);
        Assert.Equal(["i=0", "i=1", "i=2"], host.Console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(3, (await host.Instances.GetVariablesAsync(result.InstanceId))!["I"]!.GetValue<int>());
    }

    [Fact]
    public async Task FlowSwitch_takes_the_first_matching_case_or_Default()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("switch",
            Arr(Act("Switch1", "Elsa.FlowSwitch", """
                    "cases":[{"label":"Low","condition":{"type":"JavaScript","value":"getInput('n') < 10"}},
                             {"label":"High","condition":{"type":"JavaScript","value":"getInput('n') >= 10"}}]
                    """),
                Act("Low", "Elsa.WriteLine", $"\"text\":{Lit("low")}"),
                Act("High", "Elsa.WriteLine", $"\"text\":{Lit("high")}"),
                Act("Other", "Elsa.WriteLine", $"\"text\":{Lit("other")}")),
            Arr(Conn("Switch1", "Low", "Low"), Conn("Switch1", "High", "High"), Conn("Switch1", "Other", "Default")));

        await host.Runtime.StartAsync("switch", new Runtime.StartWorkflowRequest { Input = new Dictionary<string, object?> { ["n"] = 42 } });
        await host.Runtime.StartAsync("switch", new Runtime.StartWorkflowRequest { Input = new Dictionary<string, object?> { ["n"] = 1 } });
        await host.Runtime.StartAsync("switch", new Runtime.StartWorkflowRequest { Input = new Dictionary<string, object?> { ["n"] = "not a number" } });

        Assert.Equal(["high", "low", "other"], host.Console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task ForEach_runs_its_body_per_item_and_Sequence_runs_in_order_then_Finish_ends_everything()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("each",
            Arr(Act("Each", "Elsa.ForEach", $$"""
                    "items":{{Js("['a','b']")}},
                    "body":{"id":"Seq","type":"Elsa.Sequence","activities":[
                        {"id":"W1","type":"Elsa.WriteLine","text":{{Js("'item ' + getOutputFrom('Each', 'CurrentValue')")}}},
                        {"id":"W2","type":"Elsa.WriteLine","text":{{Lit("next")}}}]}
                    """),
                Act("Fin", "Elsa.Finish"),
                Act("Never", "Elsa.Event", $"\"eventName\":{Lit("never")}")),
            Arr(Conn("Each", "Fin"), Conn("Each", "Never")));

        var result = await host.Runtime.StartAsync("each");

        Assert.Equal(["item a", "next", "item b", "next"], host.Console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(WorkflowSubStatus.Finished, result.SubStatus);
        Assert.Empty(result.Bookmarks);
    }

    [Fact]
    public async Task Correlate_and_PublishEvent_reach_only_the_instance_with_that_correlation()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("listener",
            Arr(Act("Corr", "Elsa.Correlate", $"\"correlationId\":{Js("getInput('who')")}"),
                Act("Wait", "Elsa.Event", $"\"eventName\":{Lit("ping")}"),
                Act("Said", "Elsa.WriteLine", $"\"text\":{Js("getCorrelationId() + ' got ' + getOutputFrom('Wait','Result')")}")),
            Arr(Conn("Corr", "Wait"), Conn("Wait", "Said")));
        await host.PublishAsync("publisher",
            Arr(Act("Pub", "Elsa.PublishEvent", $"\"eventName\":{Lit("ping")},\"correlationId\":{Lit("bob")},\"payload\":{Lit("hello")}")));
        var ann = await host.Runtime.StartAsync("listener", new Runtime.StartWorkflowRequest { Input = new Dictionary<string, object?> { ["who"] = "ann" } });
        var bob = await host.Runtime.StartAsync("listener", new Runtime.StartWorkflowRequest { Input = new Dictionary<string, object?> { ["who"] = "bob" } });

        await host.Runtime.StartAsync("publisher");

        await host.WaitForAsync(bob.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished);
        Assert.Equal("bob got hello", host.Console.ToString().Trim());
        Assert.Equal(WorkflowSubStatus.Suspended, (await host.Instances.GetStateAsync(ann.InstanceId))!.SubStatus);
        Assert.Equal("ann", (await host.Instances.GetStateAsync(ann.InstanceId))!.CorrelationId);
    }

    [Fact]
    public async Task An_Event_trigger_starts_a_workflow_and_Cancel_ends_a_suspended_one()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("on-signup",
            Arr(Act("Trig", "Elsa.Event", $"\"eventName\":{Lit("signup")},\"customProperties\":{{\"canStartWorkflow\":true}}"),
                Act("Wait", "Elsa.Event", $"\"eventName\":{Lit("confirm")}")),
            Arr(Conn("Trig", "Wait")));

        var sent = await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "signup" }, new JsonObject { ["payload"] = "x" }) { CorrelationId = "c1" });
        var run = Assert.Single(sent.Runs);
        Assert.Equal(WorkflowSubStatus.Suspended, run.SubStatus);
        Assert.Equal("Wait", Assert.Single(run.Bookmarks).ActivityId);

        Assert.True(await host.Runtime.CancelAsync(run.InstanceId));
        var state = await host.Instances.GetStateAsync(run.InstanceId);
        Assert.Equal(WorkflowSubStatus.Cancelled, state!.SubStatus);
        Assert.Empty(state.Bookmarks);
        Assert.False(await host.Runtime.CancelAsync(run.InstanceId));
    }

    [Fact]
    public async Task Fork_with_wait_all_completes_after_every_branch()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("fork",
            Arr(Act("Fork1", "Elsa.Fork", $$"""
                    "joinMode":{{Lit("WaitAll")}},
                    "branches":[{"id":"B1","type":"Elsa.WriteLine","text":{{Lit("one")}}},
                                {"id":"B2","type":"Elsa.Event","eventName":{{Lit("two")}}}]
                    """),
                Act("After", "Elsa.WriteLine", $"\"text\":{Lit("after")}")),
            Arr(Conn("Fork1", "After")));
        var started = await host.Runtime.StartAsync("fork");
        Assert.Equal(WorkflowSubStatus.Suspended, started.SubStatus);
        Assert.Equal("one", host.Console.ToString().Trim());

        await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "two" }));

        Assert.Equal(["one", "after"], host.Console.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }
}
