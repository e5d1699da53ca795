using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class InboxAndExpressionTests
{
    [Fact]
    public async Task An_unmatched_stimulus_expires_after_the_retention_and_no_longer_resumes_anything()
    {
        using var db = new TempDatabase();
        var time = new ShiftableTimeProvider();
        await using var host = await TestHost.StartAsync(db.Path, time, o => o.InboxRetention = TimeSpan.FromHours(1));
        await host.PublishAsync("late", Arr(Act("Wait1", "Elsa.Event", $"\"eventName\":{Lit("old-news")}")));

        Assert.True((await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "old-news" }))).StoredInInbox);
        time.Advance(TimeSpan.FromHours(2));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await host.Instances.CountInboxAsync() > 0 && DateTime.UtcNow < deadline) await Task.Delay(25);
        Assert.Equal(0, await host.Instances.CountInboxAsync());

        var started = await host.Runtime.StartAsync("late");
        await Task.Delay(200);
        Assert.Equal(WorkflowSubStatus.Suspended, (await host.Instances.GetStateAsync(started.InstanceId))!.SubStatus);
    }

    [Fact]
    public async Task Unmatched_stimuli_over_the_cap_are_dropped_oldest_first_and_those_kept_the_full_retention_never_are()
    {
        using var db = new TempDatabase();
        var time = new ShiftableTimeProvider();
        await using var host = await TestHost.StartAsync(db.Path, time, o => o.MaxUnmatchedStimuli = 3);
        // Five short-lived ones a second apart (the oldest first), then two kept the full retention.
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = $"brief-{i}" }) { UnmatchedRetention = TimeSpan.FromMinutes(10) })).StoredInInbox);
            time.Advance(TimeSpan.FromSeconds(1));
        }
        for (var i = 0; i < 2; i++)
            Assert.True((await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = $"full-{i}" }))).StoredInInbox);

        // The cap is checked every 10 s on the runtime's clock.
        time.Advance(TimeSpan.FromSeconds(11));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await host.Instances.CountInboxAsync() > 5 && DateTime.UtcNow < deadline) await Task.Delay(25);
        Assert.Equal(5, await host.Instances.CountInboxAsync());

        // The two oldest short-lived ones are gone; the newest and both full ones still resume their waits.
        foreach (var (name, kept) in new[] { ("brief-0", false), ("brief-1", false), ("brief-2", true), ("brief-4", true), ("full-0", true) })
        {
            await host.PublishAsync("wait-" + name, Arr(Act("Wait1", "Elsa.Event", $"\"eventName\":{Lit(name)}")));
            var started = await host.Runtime.StartAsync("wait-" + name);
            var expected = kept ? WorkflowSubStatus.Finished : WorkflowSubStatus.Suspended;
            var until = DateTime.UtcNow.AddSeconds(10);
            while ((await host.Instances.GetStateAsync(started.InstanceId))!.SubStatus != expected && DateTime.UtcNow < until) await Task.Delay(25);
            Assert.True(expected == (await host.Instances.GetStateAsync(started.InstanceId))!.SubStatus, $"{name}: expected {expected}");
        }
    }

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task Unmatched_stimuli_that_arrived_at_one_instant_over_the_cap_lose_exactly_the_excess(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        var time = new ShiftableTimeProvider();
        await using var host = await TestHost.StartAsync(db, time, o => o.MaxUnmatchedStimuli = 5);
        // One batch: every stimulus of it is recorded at the same instant, so the cut falls inside a tie.
        var flood = Enumerable.Range(0, 12)
            .Select(i => new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = $"flood-{i}" }) { UnmatchedRetention = TimeSpan.FromMinutes(10) }).ToList();
        // All 12 stored; the count is not checked here: the host's first cap check may already have run (seen in CI).
        Assert.All(await host.Runtime.SendStimuliAsync(flood), r => Assert.True(r.StoredInInbox));

        time.Advance(TimeSpan.FromSeconds(11));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await host.Instances.CountInboxAsync() > 5 && DateTime.UtcNow < deadline) await Task.Delay(25);
        // A later check (the next one due 10 s on) must not cut further: the cap is met.
        time.Advance(TimeSpan.FromSeconds(11));
        await Task.Delay(500);
        Assert.Equal(5, await host.Instances.CountInboxAsync());
    }

    [Fact]
    public async Task Object_and_Variable_expressions_feed_inputs_and_outputs_can_be_captured_into_variables()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("exprs",
            Arr(Act("Set1", "Elsa.SetVariable", """ "variable":{"id":"cfg","name":"Config"},"value":{"typeName":"Object","expression":{"type":"Object","value":"{\"retries\":3}"}} """),
                Act("Wait1", "Elsa.Event", $"\"eventName\":{Lit("e")},\"result\":{{\"typeName\":\"Object\",\"memoryReference\":{{\"id\":\"got\"}}}}"),
                Act("Out1", "Elsa.SetOutput", $"\"outputName\":{Lit("answer")},\"outputValue\":{{\"typeName\":\"Object\",\"expression\":{{\"type\":\"Variable\",\"value\":{{\"id\":\"got\",\"name\":\"Got\"}}}}}}"),
                Act("Say", "Elsa.WriteLine", $"\"text\":{Js("getVariable('Config').retries + ' ' + getVariable('Got')")}")),
            Arr(Conn("Set1", "Wait1"), Conn("Wait1", "Out1"), Conn("Out1", "Say")),
            """[{"id":"cfg","name":"Config","typeName":"Object"},{"id":"got","name":"Got","typeName":"Object"}]""");
        await host.Runtime.StartAsync("exprs");

        var sent = await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "e" }, new JsonObject { ["payload"] = "pong" }));

        var run = Assert.Single(sent.Runs);
        Assert.Equal("pong", run.Output["answer"]!.GetValue<string>());
        Assert.Equal("3 pong", host.Console.ToString().Trim());
    }

    [Fact]
    public void Values_convert_leniently_between_json_and_clr_types()
    {
        Assert.Equal(5, ValueConverter.Convert<int>(JsonValue.Create("5")));
        Assert.True(ValueConverter.Convert<bool>(JsonValue.Create("true")));
        Assert.Equal(TimeSpan.FromMinutes(5), ValueConverter.Convert<TimeSpan>(JsonValue.Create("00:05:00")));
        Assert.Equal(["GET", "POST"], ValueConverter.Convert<List<string>>(JsonValue.Create("[\"GET\",\"POST\"]"))!);
        Assert.Equal("{\"a\":1}", ValueConverter.Convert<string>(JsonNode.Parse("{\"a\":1}")));
        Assert.Null(ValueConverter.Convert<TimeSpan?>(JsonValue.Create("")));
        Assert.False(ValueConverter.IsTruthy(JsonValue.Create(0)));
        Assert.True(ValueConverter.IsTruthy(JsonValue.Create("yes")));
    }
}
