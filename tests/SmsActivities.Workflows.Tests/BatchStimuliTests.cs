using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class BatchStimuliTests
{
    private static Stimulus Event(string name, string key, bool keep = true, bool remember = false) =>
        new("Elsa.Event", new JsonObject { ["eventName"] = name }, new JsonObject { ["payload"] = name }) { DedupeKey = key, KeepInInbox = keep, RememberWhenUnmatched = remember };

    [Fact]
    public async Task A_batch_resumes_every_matched_instance_dedupes_within_and_across_batches_and_stores_only_what_did_or_waits_for_something()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("a", Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("a")}")));
        await host.PublishAsync("b", Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("b")}")));
        var a1 = await host.Runtime.StartAsync("a");
        var a2 = await host.Runtime.StartAsync("a");
        var b1 = await host.Runtime.StartAsync("b");

        var results = await host.Runtime.SendStimuliAsync(
        [
            Event("a", "k-a"), Event("b", "k-b"), Event("a", "k-a"),
            Event("nobody", "k-gone", keep: false), Event("later", "k-later", keep: true),
        ]);

        Assert.Equal(5, results.Count);
        Assert.Equal([a1.InstanceId, a2.InstanceId], results[0].Runs.Select(r => r.InstanceId).Order());
        Assert.All(results[0].Runs, r => Assert.Equal(WorkflowSubStatus.Finished, r.SubStatus));
        Assert.Equal(b1.InstanceId, Assert.Single(results[1].Runs).InstanceId);
        Assert.True(results[2].Duplicate);
        Assert.False(results[3].Duplicate);
        Assert.False(results[3].StoredInInbox);
        Assert.True(results[4].StoredInInbox);

        var factory = host.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>();
        await using (var ctx = await factory.CreateDbContextAsync())
        {
            // What matched is kept for its dedupe key, what waits is in the inbox; what did nothing left no row.
            Assert.Equal(["k-a", "k-b", "k-later"], (await ctx.Stimuli.Select(s => s.DedupeKey!).ToListAsync()).Order());
        }
        Assert.True(Assert.Single(await host.Runtime.SendStimuliAsync([Event("a", "k-a")])).Duplicate);
        // It did nothing the first time, so its repeat is not a duplicate, and still does nothing.
        var again = Assert.Single(await host.Runtime.SendStimuliAsync([Event("nobody", "k-gone", keep: false)]));
        Assert.False(again.Duplicate);
        Assert.Empty(again.Runs);
    }

    /// <summary>Waits for event "first", then for "second", then writes <paramref name="done"/>.</summary>
    private static Task PublishFirstThenSecondAsync(TestHost host, string definitionId, string done) =>
        host.PublishAsync(definitionId,
            Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("first")}"), Act("Event2", "Elsa.Event", $"\"eventName\":{Lit("second")}"),
                Act("Done1", "Elsa.WriteLine", $"\"text\":{Lit(done)}")),
            Arr(Conn("Event1", "Event2"), Conn("Event2", "Done1")));

    [Fact]
    public async Task Stimuli_of_one_batch_for_the_same_instance_are_applied_one_after_the_other()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishFirstThenSecondAsync(host, "two", "both");
        var started = await host.Runtime.StartAsync("two");

        // "second" has no bookmark yet when the batch is recorded: it waits in the inbox and is claimed when Event2 waits.
        var results = await host.Runtime.SendStimuliAsync([Event("first", "k1"), Event("second", "k2")]);

        Assert.Single(results[0].Runs);
        Assert.True(results[1].StoredInInbox);
        await host.WaitForAsync(started.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished);
        Assert.Equal("both", host.Console.ToString().Trim());
    }

    [Fact]
    public async Task A_stimulus_that_must_not_wait_reaches_the_bookmark_an_earlier_stimulus_of_its_batch_made()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishFirstThenSecondAsync(host, "chat", "answered twice");
        var started = await host.Runtime.StartAsync("chat");

        // Like two replies in one push: neither may wait in the inbox, and "second" has a bookmark only after "first" ran.
        var results = await host.Runtime.SendStimuliAsync([Event("first", "r1", keep: false), Event("second", "r2", keep: false)]);

        Assert.Single(results[0].Runs);
        Assert.Equal(WorkflowSubStatus.Finished, Assert.Single(results[1].Runs).SubStatus);
        Assert.Equal("answered twice", host.Console.ToString().Trim());
    }

    [Fact]
    public async Task A_remembered_stimulus_that_matched_nothing_turns_its_repeat_away_from_a_bookmark_made_in_between()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("late", Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("reply")}")));

        var first = Assert.Single(await host.Runtime.SendStimuliAsync([Event("reply", "reply-42", keep: false, remember: true)]));
        Assert.Empty(first.Runs);
        Assert.False(first.StoredInInbox);
        // A workflow starts waiting after the event happened; the event is then pushed again (its acknowledgement was lost).
        var waiting = await host.Runtime.StartAsync("late");
        Assert.Equal(WorkflowSubStatus.Suspended, waiting.SubStatus);
        var repeat = Assert.Single(await host.Runtime.SendStimuliAsync([Event("reply", "reply-42", keep: false, remember: true)]));

        Assert.True(repeat.Duplicate);
        Assert.Empty(repeat.Runs);
        Assert.Equal(WorkflowSubStatus.Suspended, (await host.WaitForAsync(waiting.InstanceId, _ => true)).SubStatus);
        // A new event still resumes it.
        var fresh = Assert.Single(await host.Runtime.SendStimuliAsync([Event("reply", "reply-43", keep: false, remember: true)]));
        Assert.Equal(waiting.InstanceId, Assert.Single(fresh.Runs).InstanceId);
    }

    [Fact]
    public async Task A_remembered_stimulus_still_reaches_the_bookmark_an_earlier_stimulus_of_its_batch_made()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await PublishFirstThenSecondAsync(host, "chat", "answered twice");
        await host.Runtime.StartAsync("chat");

        var results = await host.Runtime.SendStimuliAsync([Event("first", "r1", keep: false, remember: true), Event("second", "r2", keep: false, remember: true)]);

        Assert.Equal(WorkflowSubStatus.Finished, Assert.Single(results[1].Runs).SubStatus);
        Assert.Equal("answered twice", host.Console.ToString().Trim());
        // Both keys are remembered: the whole push repeated changes nothing.
        Assert.All(await host.Runtime.SendStimuliAsync([Event("first", "r1", keep: false, remember: true), Event("second", "r2", keep: false, remember: true)]),
            r => Assert.True(r.Duplicate));
    }
}
