using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>Accepting stimuli stores them and returns; the dispatcher runs what they are owed, each once.</summary>
public class AcceptStimuliTests
{
    private static Stimulus Event(string name, string key) =>
        new("Elsa.Event", new JsonObject { ["eventName"] = name }, new JsonObject { ["payload"] = name }) { DedupeKey = key };

    private static readonly string WaitThenWrite = Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("go")}"), Act("Done1", "Elsa.WriteLine", $"\"text\":{Lit("done")}"));
    private static readonly string WaitThenWriteConnections = Arr(Conn("Event1", "Done1"));

    private static int Lines(TestHost host, string text) => host.Console.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Trim() == text);

    [Fact]
    public async Task Accepted_stimuli_return_before_any_run_and_the_dispatcher_resumes_every_matched_instance_once()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        await host.PublishAsync("accept", WaitThenWrite, WaitThenWriteConnections);
        var instances = new[] { await host.Runtime.StartAsync("accept"), await host.Runtime.StartAsync("accept"), await host.Runtime.StartAsync("accept") };

        var accepted = Assert.Single(await host.Runtime.AcceptStimuliAsync([Event("go", "k-go")]));
        Assert.False(accepted.Duplicate);
        Assert.Empty(accepted.Runs);
        Assert.Equal(3, accepted.Queued);
        var repeat = Assert.Single(await host.Runtime.AcceptStimuliAsync([Event("go", "k-go")]));
        Assert.True(repeat.Duplicate);

        foreach (var instance in instances) await host.WaitForAsync(instance.InstanceId, s => s.Status == WorkflowStatus.Finished, TimeSpan.FromSeconds(60));
        Assert.Equal(3, Lines(host, "done"));
        await using var ctx = await host.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        Assert.Equal(0, await ctx.Deliveries.CountAsync());
    }

    [Fact]
    public async Task A_process_that_stops_between_accepting_and_running_loses_nothing_and_the_next_one_runs_it_once()
    {
        using var db = new TempDatabase();
        string instanceId;
        // No dispatcher in the first process: it accepts and is gone before anything runs (the state a kill -9 right
        // after the acknowledgement leaves).
        await using (var first = await TestHost.StartAsync(db.Path, configure: o => o.RunBackgroundService = false))
        {
            await first.PublishAsync("accept", WaitThenWrite, WaitThenWriteConnections);
            instanceId = (await first.Runtime.StartAsync("accept")).InstanceId;
            Assert.Equal(1, Assert.Single(await first.Runtime.AcceptStimuliAsync([Event("go", "k-go")])).Queued);
            await Task.Delay(300);
            var state = await first.WaitForAsync(instanceId, _ => true);
            Assert.Equal(WorkflowSubStatus.Suspended, state.SubStatus);
            Assert.Equal(0, Lines(first, "done"));
        }

        await using var second = await TestHost.StartAsync(db.Path);
        await second.WaitForAsync(instanceId, s => s.Status == WorkflowStatus.Finished, TimeSpan.FromSeconds(60));
        Assert.True(Assert.Single(await second.Runtime.AcceptStimuliAsync([Event("go", "k-go")])).Duplicate);
        await Task.Delay(300);
        Assert.Equal(1, Lines(second, "done"));
    }

    [Fact]
    public async Task Accepted_stimuli_for_one_instance_resume_it_in_one_run_and_one_commit()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        // Start, then three branches side by side, each waiting for its own event: three bookmarks on one instance.
        const string definition = "three-waits";
        await host.PublishAsync(definition,
            Arr(Act("Start1", "Elsa.Start", ""), Act("E1", "Elsa.Event", $"\"eventName\":{Lit("e1")}"), Act("E2", "Elsa.Event", $"\"eventName\":{Lit("e2")}"),
                Act("E3", "Elsa.Event", $"\"eventName\":{Lit("e3")}")),
            Arr(Conn("Start1", "E1"), Conn("Start1", "E2"), Conn("Start1", "E3")));
        var started = await host.Runtime.StartAsync(definition);
        Assert.Equal(3, started.Bookmarks.Count);

        var resumes = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Name == "workflow.runs") l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? kind = null, definitionId = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "kind") kind = tag.Value as string;
                if (tag.Key == "definition") definitionId = tag.Value as string;
            }
            if (kind == "resume" && definitionId == definition) Interlocked.Add(ref resumes, (int)value);
        });
        listener.Start();

        // One accept is one transaction, so the dispatcher claims all three together.
        var accepted = await host.Runtime.AcceptStimuliAsync([Event("e1", "k-e1"), Event("e2", "k-e2"), Event("e3", "k-e3")]);
        Assert.All(accepted, r => Assert.Equal(1, r.Queued));

        await host.WaitForAsync(started.InstanceId, s => s.Status == WorkflowStatus.Finished, TimeSpan.FromSeconds(60));
        await using var ctx = await host.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        var resumed = await ctx.Journal.CountAsync(j => j.InstanceId == started.InstanceId && j.EventName == "Resumed");
        Assert.True(resumed == 3, $"the instance's bookmarks were resumed {resumed} times in all; each of the three events resumes one once");
        Assert.True(Volatile.Read(ref resumes) == 1, $"{resumes} resume runs were committed for the three deliveries of one instance; expected one run");
        Assert.Equal(0, await ctx.Deliveries.CountAsync());
    }
}
