using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

public class ExecutionKeyTests
{
    private static Stimulus Tick(string name) => new("Elsa.Event", new JsonObject { ["eventName"] = name });

    /// <summary>A short lease wait, so the background loop retries the delivery of a "crashed" run soon.</summary>
    private static Task<TestHost> StartWithProbeAsync(TempDatabase db) => TestHost.StartAsync(db.Path, configure: o =>
    {
        o.AddActivity<KeyProbe>();
        // A delivery falls due for the retry loop this long after it was recorded: long enough that the inline run,
        // not the retry loop, is the one that "crashes" (the race lost on an idle machine at 200 ms), short enough to wait out.
        o.LeaseWaitTimeout = TimeSpan.FromSeconds(1);
    });

    [Fact]
    public async Task A_run_that_dies_before_its_commit_is_re_executed_by_the_retried_delivery_with_the_same_execution_key()
    {
        using var db = new TempDatabase();
        await using var host = await StartWithProbeAsync(db);
        await host.PublishAsync("crash-key",
            Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("go")}"), Act("Probe1", "Test.KeyProbe")),
            Arr(Conn("Event1", "Probe1")));
        var started = await host.Runtime.StartAsync("crash-key");

        // The process "dies" inside the run, after the probe saw its key: nothing of the run is committed and the delivery stays.
        using var crash = new CancellationTokenSource();
        KeyProbe.CrashNext(started.InstanceId, crash);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Runtime.SendStimulusAsync(Tick("go"), crash.Token));

        await host.WaitForAsync(started.InstanceId, s => s.SubStatus == WorkflowSubStatus.Finished);
        var keys = KeyProbe.Seen(started.InstanceId);
        Assert.Equal(2, keys.Count);
        Assert.Equal(keys[0], keys[1]);
    }

    [Fact]
    public async Task A_start_by_a_stimulus_that_dies_before_its_commit_keeps_its_instance_id_and_execution_key()
    {
        using var db = new TempDatabase();
        await using var host = await StartWithProbeAsync(db);
        await host.PublishAsync("crash-start",
            Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("begin")},\"customProperties\":{{\"canStartWorkflow\":true}}"), Act("Probe1", "Test.KeyProbe")),
            Arr(Conn("Event1", "Probe1")));

        using var crash = new CancellationTokenSource();
        KeyProbe.CrashNext(null, crash);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Runtime.SendStimulusAsync(Tick("begin"), crash.Token));

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (KeyProbe.SeenIn("crash-start").Sum(p => p.Value.Count) < 2 && DateTime.UtcNow < deadline) await Task.Delay(25);
        // One instance, executed twice: the retried start re-created it under the same id.
        var (instanceId, keys) = Assert.Single(KeyProbe.SeenIn("crash-start"));
        Assert.Equal(2, keys.Count);
        Assert.Equal(keys[0], keys[1]);
        await host.WaitForAsync(instanceId, s => s.SubStatus == WorkflowSubStatus.Finished);
    }

    [Fact]
    public async Task Each_loop_iteration_is_a_new_execution_with_a_new_key()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path, configure: o => o.AddActivity<KeyProbe>());
        await host.PublishAsync("loop-key",
            Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("again")}"), Act("Probe1", "Test.KeyProbe")),
            Arr(Conn("Event1", "Probe1"), Conn("Probe1", "Event1")));
        var started = await host.Runtime.StartAsync("loop-key");

        await host.Runtime.SendStimulusAsync(Tick("again"));
        await host.Runtime.SendStimulusAsync(Tick("again"));
        await host.Runtime.SendStimulusAsync(Tick("again"));

        var keys = KeyProbe.Seen(started.InstanceId);
        Assert.Equal(3, keys.Count);
        Assert.Equal(3, keys.Distinct().Count());
    }

    /// <summary>Records the execution key it sees, per instance; can be told to "crash" its run once.</summary>
    [Activity("Test", "Testing")]
    public sealed class KeyProbe : Activity
    {
        private static readonly Dictionary<string, (string DefinitionId, List<string> Keys)> Keys = [];
        private static (string? InstanceId, CancellationTokenSource Crash)? _crash;

        public static void CrashNext(string? instanceId, CancellationTokenSource crash) => _crash = (instanceId, crash);

        public static IReadOnlyList<string> Seen(string instanceId)
        {
            lock (Keys) return Keys.TryGetValue(instanceId, out var seen) ? seen.Keys.ToList() : [];
        }

        public static IReadOnlyList<KeyValuePair<string, List<string>>> SeenIn(string definitionId)
        {
            lock (Keys) return Keys.Where(p => p.Value.DefinitionId == definitionId).Select(p => KeyValuePair.Create(p.Key, p.Value.Keys.ToList())).ToList();
        }

        protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            lock (Keys)
            {
                if (!Keys.TryGetValue(context.WorkflowInstanceId, out var seen))
                    Keys[context.WorkflowInstanceId] = seen = (context.WorkflowExecutionContext.State.DefinitionId, []);
                seen.Keys.Add(context.ExecutionKey);
            }
            if (_crash is { } crash && (crash.InstanceId is null || crash.InstanceId == context.WorkflowInstanceId))
            {
                _crash = null;
                crash.Crash.Cancel();
                context.CancellationToken.ThrowIfCancellationRequested();
            }
            return context.CompleteActivityAsync();
        }
    }
}
