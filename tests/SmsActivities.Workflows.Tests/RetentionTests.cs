using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Runtime;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>The retention service on a fake clock: nothing goes before its time, everything past it goes, and waiting instances stay.</summary>
public sealed class RetentionTests
{
    [Fact]
    public async Task Finished_instances_and_served_inputs_are_purged_after_their_retention_and_waiting_instances_stay()
    {
        using var db = new TempDatabase();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var host = await StartHostAsync(db, time, o =>
        {
            o.FinishedInstances = TimeSpan.FromDays(1);
            o.ServedStimulusInputs = TimeSpan.FromHours(1);
        });
        var definitions = host.Services.GetRequiredService<WorkflowDefinitionService>();
        var runtime = host.Services.GetRequiredService<WorkflowRuntime>();
        var instances = host.Services.GetRequiredService<WorkflowInstanceStore>();
        Assert.Empty((await definitions.SaveAsync(TestHost.Flowchart("done", Arr(Act("Line1", "Elsa.WriteLine", $"\"text\":{Lit("hi")}"))), publish: true)).ValidationErrors);
        Assert.Empty((await definitions.SaveAsync(TestHost.Flowchart("waits",
            Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("first")}"), Act("Event2", "Elsa.Event", $"\"eventName\":{Lit("second")}")),
            Arr(Conn("Event1", "Event2"))), publish: true)).ValidationErrors);

        var finished = await runtime.StartAsync("done");
        var waiting = await runtime.StartAsync("waits");
        const string body = "a large push field that must not be kept for long";
        var served = await runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "first" }, new JsonObject { ["payload"] = body }));
        Assert.Single(served.Runs);
        Assert.Equal(WorkflowSubStatus.Finished, finished.SubStatus);
        Assert.Equal(WorkflowSubStatus.Suspended, served.Runs[0].SubStatus);

        // Just before the retention ends: the first pass at start and one more pass keep everything.
        time.Advance(TimeSpan.FromMinutes(55));
        await Task.Delay(300);
        Assert.NotNull(await instances.GetStateAsync(finished.InstanceId));
        Assert.Equal(1, await CountAsync(db.Path, $"SELECT COUNT(*) FROM Stimuli WHERE InputJson LIKE '%{body}%'"));

        // Past an hour the served stimulus loses its body (its row and dedupe key stay); past a day the finished instance goes.
        time.Advance(TimeSpan.FromMinutes(10));
        await EventuallyAsync(async () => await CountAsync(db.Path, $"SELECT COUNT(*) FROM Stimuli WHERE InputJson LIKE '%{body}%'") == 0);
        Assert.NotNull(await instances.GetStateAsync(finished.InstanceId));
        Assert.Equal(1, await CountAsync(db.Path, "SELECT COUNT(*) FROM Stimuli"));

        time.Advance(TimeSpan.FromDays(1));
        await EventuallyAsync(async () => await instances.GetStateAsync(finished.InstanceId) is null);
        Assert.Equal(0, await CountAsync(db.Path, $"SELECT COUNT(*) FROM ActivityExecutions WHERE InstanceId = '{finished.InstanceId}'"));
        Assert.Equal(0, await CountAsync(db.Path, $"SELECT COUNT(*) FROM WorkflowExecutionLog WHERE InstanceId = '{finished.InstanceId}'"));

        // A suspended instance is not purged within the abandoned-instance retention (30 days by default): its wait goes on.
        var stillWaiting = await instances.GetStateAsync(waiting.InstanceId);
        Assert.Equal(WorkflowSubStatus.Suspended, stillWaiting!.SubStatus);
        Assert.True(await CountAsync(db.Path, $"SELECT COUNT(*) FROM WorkflowExecutionLog WHERE InstanceId = '{waiting.InstanceId}'") > 0);
        var resumed = await runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "second" }));
        Assert.Equal(WorkflowSubStatus.Finished, Assert.Single(resumed.Runs).SubStatus);
        await host.StopAsync();
    }

    [Fact]
    public async Task A_suspended_instance_nothing_resumes_is_purged_after_its_retention_unless_a_timer_of_its_own_can_still_wake_it()
    {
        using var db = new TempDatabase();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var host = await StartHostAsync(db, time, o => o.AbandonedInstances = TimeSpan.FromDays(2));
        var definitions = host.Services.GetRequiredService<WorkflowDefinitionService>();
        var runtime = host.Services.GetRequiredService<WorkflowRuntime>();
        var instances = host.Services.GetRequiredService<WorkflowInstanceStore>();
        Assert.Empty((await definitions.SaveAsync(TestHost.Flowchart("forgotten", Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("never")}"))), publish: true)).ValidationErrors);
        Assert.Empty((await definitions.SaveAsync(TestHost.Flowchart("sleeper", Arr(Act("Delay1", "Elsa.Delay", $"\"timeSpan\":{Lit("10.00:00:00")}"))), publish: true)).ValidationErrors);
        var forgotten = await runtime.StartAsync("forgotten");
        var sleeper = await runtime.StartAsync("sleeper");
        Assert.Equal(WorkflowSubStatus.Suspended, forgotten.SubStatus);
        Assert.Equal(WorkflowSubStatus.Suspended, sleeper.SubStatus);

        time.Advance(TimeSpan.FromDays(1));
        await Task.Delay(300);
        Assert.NotNull(await instances.GetStateAsync(forgotten.InstanceId));

        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(10));
        await EventuallyAsync(async () => await instances.GetStateAsync(forgotten.InstanceId) is null);
        Assert.Equal(0, await CountAsync(db.Path, $"SELECT COUNT(*) FROM Bookmarks WHERE InstanceId = '{forgotten.InstanceId}'"));
        Assert.Equal(0, await CountAsync(db.Path, $"SELECT COUNT(*) FROM WorkflowExecutionLog WHERE InstanceId = '{forgotten.InstanceId}'"));
        // The sleeper's own timer will wake it: it stays, however long it has been idle.
        Assert.Equal(WorkflowSubStatus.Suspended, (await instances.GetStateAsync(sleeper.InstanceId))!.SubStatus);
        await host.StopAsync();
    }

    [Fact]
    public async Task Completed_alteration_plans_are_purged_with_their_jobs_after_their_retention_and_later_plans_stay()
    {
        using var db = new TempDatabase();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var host = await StartHostAsync(db, time, o => o.CompletedAlterationPlans = TimeSpan.FromDays(7));
        var definitions = host.Services.GetRequiredService<WorkflowDefinitionService>();
        var runtime = host.Services.GetRequiredService<WorkflowRuntime>();
        var plans = host.Services.GetRequiredService<AlterationPlans>();
        Assert.Empty((await definitions.SaveAsync(TestHost.Flowchart("altered", Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("never")}"))), publish: true)).ValidationErrors);
        var first = await runtime.StartAsync("altered");
        var second = await runtime.StartAsync("altered");
        JsonArray cancel = [new JsonObject { ["type"] = "Cancel" }];
        Assert.True(await plans.AddAsync("old-plan", cancel, new JsonObject(), [first.InstanceId], CancellationToken.None));
        await plans.RunAsync("old-plan", CancellationToken.None);
        Assert.Equal("Completed", (await plans.FindAsync("old-plan", CancellationToken.None))!.Status);

        time.Advance(TimeSpan.FromDays(3));
        Assert.True(await plans.AddAsync("new-plan", cancel, new JsonObject(), [second.InstanceId], CancellationToken.None));
        await plans.RunAsync("new-plan", CancellationToken.None);
        Assert.Equal("Completed", (await plans.FindAsync("new-plan", CancellationToken.None))!.Status);

        // Six days after the old plan completed: both are kept (the pass at that time has run once the fake clock moved).
        time.Advance(TimeSpan.FromDays(3));
        await Task.Delay(300);
        Assert.Equal(2, await CountAsync(db.Path, "SELECT COUNT(*) FROM AlterationPlans"));

        // Past seven days the old plan goes with its job; the plan completed three days later stays, with its job.
        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(10));
        await EventuallyAsync(async () => await CountAsync(db.Path, "SELECT COUNT(*) FROM AlterationPlans WHERE Id = 'old-plan'") == 0);
        Assert.Equal(0, await CountAsync(db.Path, "SELECT COUNT(*) FROM AlterationJobs WHERE PlanId = 'old-plan'"));
        Assert.Null(await plans.FindAsync("old-plan", CancellationToken.None));
        var kept = await plans.FindAsync("new-plan", CancellationToken.None);
        Assert.Equal(second.InstanceId, Assert.Single(kept!.Jobs).WorkflowInstanceId);
        await host.StopAsync();
    }

    /// <summary>A runtime on <paramref name="time"/> whose retention pass runs every five fake minutes.</summary>
    private static async Task<IHost> StartHostAsync(TempDatabase db, FakeTimeProvider time, Action<WorkflowRetentionOptions> retention)
    {
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.AddWorkflowRuntime(o => o.UseSqlite(db.Path));
                services.Configure<WorkflowRetentionOptions>(o =>
                {
                    o.Interval = TimeSpan.FromMinutes(5);
                    retention(o);
                });
            }).Build();
        await host.StartAsync();
        return host;
    }

    private static async Task<long> CountAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the retention service did not purge in time");
            await Task.Delay(50);
        }
    }
}
