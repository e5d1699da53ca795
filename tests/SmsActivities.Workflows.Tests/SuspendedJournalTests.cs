using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// As in Elsa's journal, an activity execution that becomes suspended is journaled "Suspended" once, however many
/// bookmarks it makes (a wait for several messages plus a timeout makes several).
/// </summary>
public class SuspendedJournalTests
{
    private static Stimulus Tick(string name) => new("Elsa.Event", new JsonObject { ["eventName"] = name });

    private static async Task<(TestHost Host, string InstanceId)> StartWaitingAsync(TempDatabase db)
    {
        var host = await TestHost.StartAsync(db.Path, configure: o => o.AddActivity<ManyWaits>());
        await host.PublishAsync("many-waits", Arr(Act("Start1", "Elsa.Start"), Act("Waits1", "Test.ManyWaits")), Arr(Conn("Start1", "Waits1")));
        var started = await host.Runtime.StartAsync("many-waits");
        Assert.Equal(WorkflowSubStatus.Suspended, started.SubStatus);
        return (host, started.InstanceId);
    }

    private static async Task<IReadOnlyList<WorkflowExecutionLogRecord>> JournalOfAsync(TestHost host, string instanceId, string eventName) =>
        (await host.Instances.GetJournalAsync(instanceId, new Runtime.JournalQuery { EventNames = [eventName] })).Items
        .Where(r => r.ActivityId == "Waits1").ToList();

    [Fact]
    public async Task An_activity_that_makes_three_bookmarks_is_journaled_Suspended_once_with_the_first_bookmarks_payload()
    {
        using var db = new TempDatabase();
        var (host, instanceId) = await StartWaitingAsync(db);
        await using var _ = host;

        Assert.Equal(3, (await host.Instances.GetStateAsync(instanceId))!.Bookmarks.Count);
        var suspended = Assert.Single(await JournalOfAsync(host, instanceId, "Suspended"));
        Assert.Equal("a", suspended.Payload?["eventName"]?.GetValue<string>());
    }

    [Fact]
    public async Task A_resumption_that_leaves_the_activity_waiting_on_new_bookmarks_is_journaled_Resumed_then_Suspended_once()
    {
        using var db = new TempDatabase();
        var (host, instanceId) = await StartWaitingAsync(db);
        await using var _ = host;

        // "a" makes two more bookmarks: one more Suspended for that resumption. "c" then completes the activity.
        await host.Runtime.SendStimulusAsync(Tick("a"));
        Assert.Equal(2, (await JournalOfAsync(host, instanceId, "Suspended")).Count);
        Assert.Single(await JournalOfAsync(host, instanceId, "Resumed"));

        await host.Runtime.SendStimulusAsync(Tick("c"));
        await host.WaitForAsync(instanceId, s => s.SubStatus == WorkflowSubStatus.Finished);
        Assert.Equal(2, (await JournalOfAsync(host, instanceId, "Suspended")).Count);
        Assert.Equal(2, (await JournalOfAsync(host, instanceId, "Resumed")).Count);
        Assert.Single(await JournalOfAsync(host, instanceId, "Completed"));
    }

    /// <summary>Waits for events "a" and "b" and a timeout (three bookmarks); on "a" it waits for "c" and "d" too; on any other it completes.</summary>
    [Activity("Test", "Testing")]
    public sealed class ManyWaits : Activity
    {
        protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            context.CreateBookmark(new EventPayload("a"), OnEventAsync, name: "Elsa.Event");
            context.CreateBookmark(new EventPayload("b"), OnEventAsync, name: "Elsa.Event");
            context.CreateTimeout(TimeSpan.FromHours(1));
            return ValueTask.CompletedTask;
        }

        private ValueTask OnEventAsync(ActivityExecutionContext context)
        {
            if (context.ResumedBookmark?.Payload?["eventName"]?.GetValue<string>() != "a")
                return context.CompleteActivityAsync();
            context.CreateBookmark(new EventPayload("c"), OnEventAsync, name: "Elsa.Event");
            context.CreateBookmark(new EventPayload("d"), OnEventAsync, name: "Elsa.Event");
            return ValueTask.CompletedTask;
        }
    }
}
