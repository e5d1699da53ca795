using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// Alteration plans live in the runtime's database: a new host on the same store reads a plan and its jobs' results,
/// and a plan whose host stopped in the middle is taken over and finishes, each alteration applied exactly once.
/// </summary>
public class AlterationPlanTests
{
    // Wait1 blocks; scheduling After appends '+' to the note, so the note counts how often it ran.
    private static Task PublishAsync(TestHost host) => host.PublishAsync("altered",
        Arr(Act("Wait1", "Elsa.Event", $"\"eventName\":{Lit("never")}"),
            Act("After", "Elsa.SetVariable", $"\"variable\":{{\"id\":\"v1\",\"name\":\"note\"}},\"value\":{Js("variables.note + '+'")}")),
        Arr(Conn("Wait1", "After")),
        """[{"id":"v1","name":"note","typeName":"String","value":"x"}]""");

    private static readonly JsonArray ScheduleAfter = [new JsonObject { ["type"] = "ScheduleActivity", ["activityId"] = "After" }];

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task A_plan_and_its_jobs_results_are_read_back_by_a_new_host(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        var instances = new List<string>();
        await using (var first = await TestHost.StartAsync(db))
        {
            await PublishAsync(first);
            for (var i = 0; i < 2; i++) instances.Add((await first.Runtime.StartAsync("altered")).InstanceId);
            var plans = first.Services.GetRequiredService<AlterationPlans>();
            Assert.True(await plans.AddAsync("plan-1", [new JsonObject { ["type"] = "Cancel" }], new JsonObject { ["definitionIds"] = new JsonArray("altered") },
                [.. instances, "no-such-instance"], CancellationToken.None));
            await plans.RunAsync("plan-1", CancellationToken.None);
        }

        await using var second = await TestHost.StartAsync(db);
        var plan = await second.Services.GetRequiredService<AlterationPlans>().FindAsync("plan-1", CancellationToken.None);
        Assert.NotNull(plan);
        Assert.Equal("Completed", plan.Status);
        Assert.Equal("altered", (string?)plan.Filter["definitionIds"]![0]);
        Assert.Equal([.. instances, "no-such-instance"], plan.Jobs.Select(j => j.WorkflowInstanceId));
        Assert.True(plan.Jobs.Select(j => j.Status).SequenceEqual(["Completed", "Completed", "Failed"]), "jobs: " + string.Join(", ", plan.Jobs.Select(j => j.Status)));
        Assert.Equal("Cancelled the instance.", plan.Jobs[0].Log.Single().Message);
        Assert.Contains("does not exist or has finished", plan.Jobs[2].Log.Single().Message, StringComparison.Ordinal);
        foreach (var id in instances) Assert.Equal(Execution.WorkflowSubStatus.Cancelled, (await second.Instances.GetStateAsync(id))!.SubStatus);
    }

    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task A_plan_whose_host_stopped_mid_job_is_resumed_by_the_next_host_and_applies_each_alteration_once(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        var instances = new List<string>();
        await using (var first = await TestHost.StartAsync(db, configure: o => o.LeaseWaitTimeout = TimeSpan.FromMinutes(2)))
        {
            await PublishAsync(first);
            for (var i = 0; i < 3; i++) instances.Add((await first.Runtime.StartAsync("altered")).InstanceId);
            var plans = first.Services.GetRequiredService<AlterationPlans>();
            Assert.True(await plans.AddAsync("plan-2", ScheduleAfter, new JsonObject(), instances, CancellationToken.None));

            // The second instance is busy in this process: the plan applies the first job, starts the second and waits;
            // then the host stops (its run is cancelled) before that job's alteration is committed.
            using var busy = await first.Services.GetRequiredService<InstanceOwnership>().EnterAsync(instances[1], CancellationToken.None);
            using var stopping = new CancellationTokenSource();
            var run = plans.RunAsync("plan-2", stopping.Token);
            await WaitForJobsAsync(first, "plan-2", jobs => jobs[0] == "Completed" && jobs[1] == "Running");
            await stopping.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
            Assert.Equal("x+", (await first.Instances.GetStateAsync(instances[0]))!.Variables["note"]!.ToString());
        }

        await using var second = await TestHost.StartAsync(db);
        // Time passes: the stopped host's lease on the plan expires, and the new host's background pass takes it over.
        await using (var ctx = await second.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync())
        {
            var expired = DbTime.ToDb(DateTimeOffset.UtcNow.AddMinutes(-1));
            await ctx.AlterationPlans.Where(p => p.Id == "plan-2").ExecuteUpdateAsync(s => s.SetProperty(p => p.LeaseExpiresAt, expired));
        }
        var plans2 = second.Services.GetRequiredService<AlterationPlans>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        AlterationPlan? plan = null;
        while (DateTime.UtcNow < deadline && (plan = await plans2.FindAsync("plan-2", CancellationToken.None))?.Status != "Completed") await Task.Delay(100);
        Assert.True(plan?.Status == "Completed", $"plan after 60 s: {plan?.Status}, jobs {string.Join(", ", plan?.Jobs.Select(j => j.Status) ?? [])}");
        Assert.All(plan!.Jobs, j => Assert.Equal("Completed", j.Status));
        Assert.Contains("Resumed", plan.Jobs[1].Log[0].Message, StringComparison.Ordinal);
        Assert.DoesNotContain(plan.Jobs[0].Log, e => e.Message.Contains("Resumed", StringComparison.Ordinal));
        var notes = new List<string>();
        foreach (var id in instances) notes.Add((await second.Instances.GetStateAsync(id))!.Variables["note"]!.ToString());
        Assert.True(notes.All(n => n == "x+"), "notes (each instance's After must have run once): " + string.Join(", ", notes));
    }

    private static async Task WaitForJobsAsync(TestHost host, string planId, Func<IReadOnlyList<string>, bool> condition)
    {
        var plans = host.Services.GetRequiredService<AlterationPlans>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var seen = "";
        while (DateTime.UtcNow < deadline)
        {
            var jobs = (await plans.FindAsync(planId, CancellationToken.None))!.Jobs.Select(j => j.Status).ToList();
            seen = string.Join(", ", jobs);
            if (condition(jobs)) return;
            await Task.Delay(50);
        }
        Assert.Fail("jobs after 60 s: " + seen);
    }
}
