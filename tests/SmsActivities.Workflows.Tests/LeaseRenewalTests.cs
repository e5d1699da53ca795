using Microsoft.Extensions.DependencyInjection;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// Two runtimes on one database (two server processes). Leases are short so a dead owner is replaced quickly; a live
/// owner must keep its instance through a run longer than the lease, or the other runtime runs the same step again.
/// </summary>
public sealed class LeaseRenewalTests
{
    [Fact]
    public async Task A_run_longer_than_the_lease_keeps_its_instance_because_its_owner_renews_the_lease()
    {
        using var db = new TempDatabase();
        void Short(Runtime.WorkflowRuntimeOptions o)
        {
            o.LeaseDuration = TimeSpan.FromSeconds(2);   // still shorter than the 3-second step; renewals every third of it
            o.LeaseWaitTimeout = TimeSpan.FromMilliseconds(500);
        }
        // The busy step below runs millions of statements: lift the script limits, which are not under test here.
        void Unlimited(IServiceCollection services) => services.Configure<Expressions.ScriptOptions>(o => (o.MaxStatements, o.MaxMemoryBytes, o.Timeout) = (int.MaxValue, long.MaxValue, TimeSpan.FromMinutes(1)));
        await using var owner = await TestHost.StartAsync(db.Path, configure: Short, configureServices: Unlimited);
        await owner.PublishAsync("long",
            Arr(Act("Go", "Elsa.Event", $"\"eventName\":{Lit("go")}"),
                Act("Work", "Elsa.WriteLine", $"\"text\":{Js("(function () { var end = new Date().getTime() + 3000; while (new Date().getTime() < end) {} return 'worked'; })()")}")),
            Arr(Conn("Go", "Work")));
        var started = await owner.Runtime.StartAsync("long");
        await using var other = await TestHost.StartAsync(db.Path, configure: Short, configureServices: Unlimited);

        // The owner runs the 3-second step inline; the other runtime recovers expired leases every 50 ms meanwhile.
        var resumed = await owner.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "go" }));
        Assert.Equal(WorkflowSubStatus.Finished, Assert.Single(resumed.Runs).SubStatus);
        await Task.Delay(TimeSpan.FromSeconds(2));

        var runs = (owner.Console.ToString() + other.Console.ToString()).Split("worked").Length - 1;
        Assert.Equal(1, runs);
        Assert.Equal(WorkflowSubStatus.Finished, (await other.Instances.GetStateAsync(started.InstanceId))!.SubStatus);
    }
}
