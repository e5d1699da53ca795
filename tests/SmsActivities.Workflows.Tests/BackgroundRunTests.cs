using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>The background part of a <c>runAsynchronously</c> activity runs off the timer loop.</summary>
public class BackgroundRunTests
{
    [Fact]
    public async Task A_timer_due_during_a_long_asynchronous_step_fires_on_time()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path, configure: o => o.AddActivity<Hold>());
        await host.PublishAsync("long-step",
            Arr(Act("Hold1", "Test.Hold", "\"customProperties\":{\"runAsynchronously\":true}"), Act("After1", "Elsa.WriteLine", $"\"text\":{Lit("long step done")}")),
            Arr(Conn("Hold1", "After1")));
        await host.PublishAsync("short-timer",
            Arr(Act("Delay1", "Elsa.Delay", $"\"timeSpan\":{Lit("00:00:01")}"), Act("Woke1", "Elsa.WriteLine", $"\"text\":{Lit("timer fired")}")),
            Arr(Conn("Delay1", "Woke1")));
        Hold.Reset();
        try
        {
            var longRun = await host.Runtime.StartAsync("long-step");
            Assert.True(longRun.SubStatus == WorkflowSubStatus.Suspended, $"the asynchronous step should be left to the background; the run ended {longRun.SubStatus}");
            // The step is under way in the background (as a long campaign send would be).
            Assert.True(await Task.WhenAny(Hold.Started.Task, Task.Delay(TimeSpan.FromSeconds(60))) == Hold.Started.Task, "the asynchronous step did not start within 60 s");

            var timer = await host.Runtime.StartAsync("short-timer");
            var started = DateTime.UtcNow;
            var woke = await host.WaitForAsync(timer.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished, TimeSpan.FromSeconds(45));
            var late = DateTime.UtcNow - started;

            Assert.False(Hold.Released.Task.IsCompleted);
            Assert.True(host.Console.ToString().Contains("timer fired", StringComparison.Ordinal) && !host.Console.ToString().Contains("long step done", StringComparison.Ordinal),
                $"the 1 s timer finished ({woke.SubStatus}, after {late.TotalSeconds:F1} s) while the step still ran; console: {host.Console}");
        }
        finally
        {
            Hold.Released.TrySetResult();
        }
        var instances = await Sql.TextAsync(db.Path, "SELECT Id FROM WorkflowInstances WHERE DefinitionId = 'long-step'");
        await host.WaitForAsync(instances, s => s.SubStatus == WorkflowSubStatus.Finished, TimeSpan.FromSeconds(60));
        Assert.Contains("long step done", host.Console.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Stands for a long step: runs until the test releases it.</summary>
    [Activity("Test", "Testing")]
    public sealed class Hold : Activity
    {
        public static TaskCompletionSource Started { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public static TaskCompletionSource Released { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static void Reset()
        {
            Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            Started.TrySetResult();
            // Bounded, so a broken test cannot hang the suite.
            await Released.Task.WaitAsync(TimeSpan.FromMinutes(2), context.CancellationToken);
            await context.CompleteActivityAsync();
        }
    }
}
