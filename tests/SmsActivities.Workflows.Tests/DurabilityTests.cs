using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class DurabilityTests
{
    private static Stimulus EventStimulus(string name, string? dedupeKey = null, object? payload = null) =>
        new("Elsa.Event", new JsonObject { ["eventName"] = name }, new JsonObject { ["payload"] = Expressions.ValueConverter.ToNode(payload) }) { DedupeKey = dedupeKey };

    private static string WaitForEvents(params string[] names) =>
        Arr(names.Select((n, i) => Act($"Event{i + 1}", "Elsa.Event", $"\"eventName\":{Lit(n)}")).Append(Act("Done1", "Elsa.WriteLine", $"\"text\":{Lit("done")}")).ToArray());

    private static string Chain(int events) =>
        Arr(Enumerable.Range(1, events).Select(i => Conn($"Event{i}", i == events ? "Done1" : $"Event{i + 1}")).ToArray());

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task A_suspended_instance_survives_a_new_host_on_the_same_file_and_resumes(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        string instanceId;
        await using (var first = await TestHost.StartAsync(db))
        {
            await first.PublishAsync("wait", WaitForEvents("go"), Chain(1));
            var result = await first.Runtime.StartAsync("wait");
            Assert.Equal(Execution.WorkflowSubStatus.Suspended, result.SubStatus);
            Assert.Equal("Elsa.Event", Assert.Single(result.Bookmarks).Name);
            instanceId = result.InstanceId;
        }
        await using var second = await TestHost.StartAsync(db);
        var sent = await second.Runtime.SendStimulusAsync(EventStimulus("go"));
        var run = Assert.Single(sent.Runs);
        Assert.Equal(instanceId, run.InstanceId);
        Assert.Equal(Execution.WorkflowSubStatus.Finished, run.SubStatus);
        Assert.Equal("done", second.Console.ToString().Trim());
    }

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task A_stimulus_that_arrives_before_its_bookmark_waits_in_the_inbox_and_resumes_it(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        await using var host = await TestHost.StartAsync(db);
        await host.PublishAsync("early", WaitForEvents("report"), Chain(1));

        var early = await host.Runtime.SendStimulusAsync(EventStimulus("report", "r-1", new { status = "DELIVRD" }));
        Assert.True(early.StoredInInbox);
        Assert.Equal(1, await host.Instances.CountInboxAsync());

        var started = await host.Runtime.StartAsync("early");
        var state = await host.WaitForAsync(started.InstanceId, s => s.SubStatus == Execution.WorkflowSubStatus.Finished);
        Assert.Equal("DELIVRD", state.ActivityOutputs["Event1"]["Result"]!["status"]!.GetValue<string>());
        Assert.Equal(0, await host.Instances.CountInboxAsync());
    }

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task The_same_stimulus_delivered_twice_resumes_once(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        await using var host = await TestHost.StartAsync(db);
        await host.PublishAsync("twice", WaitForEvents("tick", "tick"), Chain(2));
        var started = await host.Runtime.StartAsync("twice");

        var first = await host.Runtime.SendStimulusAsync(EventStimulus("tick", "k1"));
        var again = await host.Runtime.SendStimulusAsync(EventStimulus("tick", "k1"));

        Assert.Single(first.Runs);
        Assert.True(again.Duplicate);
        Assert.Empty(again.Runs);
        var state = await host.Instances.GetStateAsync(started.InstanceId);
        Assert.Equal(Execution.WorkflowSubStatus.Suspended, state!.SubStatus);
        Assert.Equal("Event2", Assert.Single(state.Bookmarks).ActivityId);

        var other = await host.Runtime.SendStimulusAsync(EventStimulus("tick", "k2"));
        Assert.Equal(Execution.WorkflowSubStatus.Finished, Assert.Single(other.Runs).SubStatus);
    }

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task Two_stimuli_for_one_instance_at_once_are_both_applied_one_after_the_other(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        await using var host = await TestHost.StartAsync(db);
        await host.PublishAsync("both",
            Arr(Act("Fork1", "Elsa.FlowFork", $"\"branches\":{Js("['a','b']")}"),
                Act("A", "Elsa.Event", $"\"eventName\":{Lit("a")}"),
                Act("B", "Elsa.Event", $"\"eventName\":{Lit("b")}"),
                Act("Join1", "Elsa.FlowJoin", $"\"mode\":{Lit("WaitAll")}"),
                Act("Done1", "Elsa.WriteLine", $"\"text\":{Lit("joined")}")),
            Arr(Conn("Fork1", "A", "a"), Conn("Fork1", "B", "b"), Conn("A", "Join1"), Conn("B", "Join1"), Conn("Join1", "Done1")));
        var started = await host.Runtime.StartAsync("both");
        Assert.Equal(2, started.Bookmarks.Count);

        await Task.WhenAll(host.Runtime.SendStimulusAsync(EventStimulus("a")), host.Runtime.SendStimulusAsync(EventStimulus("b")));

        var state = await host.WaitForAsync(started.InstanceId, s => s.SubStatus == Execution.WorkflowSubStatus.Finished);
        Assert.Empty(state.Bookmarks);
        Assert.Equal("joined", host.Console.ToString().Trim());
    }

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task A_stimulus_whose_bookmark_another_stimulus_consumed_reaches_the_bookmark_the_activity_waits_on_again(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        await using var host = await TestHost.StartAsync(db, configure: o => o.AddActivity<HeldStep>());
        // Event1 waits again after every tick: a new bookmark id with the same hash.
        await host.PublishAsync("loop",
            Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("tick")}"), Act("Hold1", "Test.HeldStep"), Act("Write1", "Elsa.WriteLine", $"\"text\":{Lit("tock")}")),
            Arr(Conn("Event1", "Hold1"), Conn("Hold1", "Write1"), Conn("Write1", "Event1")));
        var started = await host.Runtime.StartAsync("loop");

        using var gate = HeldStep.Hold();
        var first = host.Runtime.SendStimulusAsync(EventStimulus("tick"));
        await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30));
        // The first tick is inside the instance; the second matches the bookmark the first is consuming.
        var second = host.Runtime.SendStimulusAsync(EventStimulus("tick"));
        await Task.Delay(500);
        gate.Release();
        await Task.WhenAll(first, second);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (CountTocks() < 2 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(2, CountTocks());
        Assert.Single((await host.WaitForAsync(started.InstanceId, s => s.SubStatus == Execution.WorkflowSubStatus.Suspended)).Bookmarks);

        int CountTocks() => host.Console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Trim() == "tock");
    }

    /// <summary>Holds the first run that reaches it until the test releases it, so a second stimulus can arrive mid-run.</summary>
    [Activity("Test", "Testing")]
    public sealed class HeldStep : Activity
    {
        private static Gate? _current;

        public static Gate Hold() => _current = new Gate();

        protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            if (Interlocked.Exchange(ref _current, null) is { } gate)
            {
                gate.Entered.Release();
                await gate.Released.Task;
            }
            await context.CompleteActivityAsync();
        }

        public sealed class Gate : IDisposable
        {
            public SemaphoreSlim Entered { get; } = new(0);
            public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
            public void Release() => Released.TrySetResult();
            public void Dispose() { Release(); Entered.Dispose(); }
        }
    }

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task A_timer_that_falls_due_while_the_host_is_down_fires_after_restart(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        var time = new ShiftableTimeProvider();
        string instanceId;
        await using (var first = await TestHost.StartAsync(db, time))
        {
            await first.PublishAsync("nap",
                Arr(Act("Delay1", "Elsa.Delay", $"\"timeSpan\":{Lit("01:00:00")}"), Act("Done1", "Elsa.WriteLine", $"\"text\":{Lit("awake")}")),
                Arr(Conn("Delay1", "Done1")));
            var result = await first.Runtime.StartAsync("nap");
            Assert.NotNull(Assert.Single(result.Bookmarks).DueAt);
            instanceId = result.InstanceId;
        }
        time.Advance(TimeSpan.FromHours(2));
        await using var second = await TestHost.StartAsync(db, time);
        await second.WaitForAsync(instanceId, s => s.SubStatus == Execution.WorkflowSubStatus.Finished);
        Assert.Equal("awake", second.Console.ToString().Trim());
    }

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task An_instance_left_executing_by_a_dead_process_is_recovered_and_the_waiting_stimulus_is_not_lost(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        await using var host = await TestHost.StartAsync(db, configure: o =>
        {
            o.LeaseWaitTimeout = TimeSpan.FromMilliseconds(200);
        });
        await host.PublishAsync("crash", WaitForEvents("go"), Chain(1));
        var started = await host.Runtime.StartAsync("crash");

        // A process that died while running the instance: its lease is held, then expires. Long enough that the
        // stimulus below finds it held even on a loaded machine (it is deferred, not run), short enough to wait out.
        var factory = host.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>();
        await using (var ctx = await factory.CreateDbContextAsync())
        {
            var expires = DbTime.ToDb(DateTimeOffset.UtcNow.AddSeconds(4));
            await ctx.Instances.Where(i => i.Id == started.InstanceId).ExecuteUpdateAsync(s => s
                .SetProperty(i => i.LeaseOwner, "dead-process").SetProperty(i => i.LeaseExpiresAt, expires)
                .SetProperty(i => i.SubStatus, "Executing"));
        }

        var sent = await host.Runtime.SendStimulusAsync(EventStimulus("go"));
        Assert.Equal(1, sent.Deferred);
        Assert.Empty(sent.Runs);

        var state = await host.WaitForAsync(started.InstanceId, s => s.SubStatus == Execution.WorkflowSubStatus.Finished);
        Assert.Equal(Execution.WorkflowStatus.Finished, state.Status);
        Assert.Equal("done", host.Console.ToString().Trim());
    }

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task Suspended_instances_are_rows_with_their_bookmarks_and_hold_no_lease(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        await using var host = await TestHost.StartAsync(db);
        await host.PublishAsync("idle", WaitForEvents("never"), Chain(1));
        for (var i = 0; i < 20; i++) await host.Runtime.StartAsync("idle");
        var factory = host.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>();
        await using var ctx = await factory.CreateDbContextAsync();
        Assert.Equal(20, await ctx.Bookmarks.CountAsync());
        Assert.Equal(20, await ctx.Instances.CountAsync(i => i.SubStatus == "Suspended" && i.LeaseOwner == null));
    }
}
