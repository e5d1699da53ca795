using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Runtime;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// The runs of one dispatcher batch see the batch (<see cref="WorkflowExecutionContext.Batch"/>): what resumes every
/// instance of it, and one shared object per type for all of them, disposed once the batch is done. A run on its own has none.
/// </summary>
public class ResumeBatchTests
{
    /// <summary>Waits for a stimulus naming its key; resumed, notes the batch its run belongs to.</summary>
    [Activity("Test", "Testing")]
    public sealed class BatchProbe : BlockingActivity
    {
        /// <summary>Each resumed probe's instance, with its run's batch and that batch's shared <see cref="Seen"/>.</summary>
        public static readonly ConcurrentDictionary<string, (ResumeBatch? Batch, Seen? Shared)> Resumed = new();

        [Input(IsRequired = true)] public Input<string> Key { get; set; } = new("");

        protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            WaitFor(context, new { key = context.Get(Key) }, OnResumedAsync);
            return ValueTask.CompletedTask;
        }

        private ValueTask OnResumedAsync(ActivityExecutionContext context)
        {
            var batch = context.WorkflowExecutionContext.Batch;
            var shared = batch?.Shared(_ => new Seen());
            if (shared is not null) Interlocked.Increment(ref shared.Runs);
            Resumed[context.WorkflowInstanceId] = (batch, shared);
            return context.CompleteActivityAsync();
        }
    }

    public sealed class Seen : IDisposable
    {
        public int Runs;
        public volatile bool Disposed;
        public void Dispose() => Disposed = true;
    }

    private static Stimulus Probe(string key) => new("Test.BatchProbe", new JsonObject { ["key"] = key }, new JsonObject { ["said"] = "hello " + key });

    [Fact]
    public async Task The_runs_of_a_dispatcher_batch_see_what_resumes_each_and_share_one_object_disposed_after_while_a_run_alone_has_no_batch()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path, configure: o => o.AddActivity<BatchProbe>());
        await host.PublishAsync("probe", Arr(Act("Probe1", "Test.BatchProbe", $"\"key\":{Js("getInput('key')")}")), Arr());
        var keys = Enumerable.Range(0, 3).Select(i => $"{Guid.NewGuid():N}-{i}").ToArray();
        var instances = new List<string>();
        foreach (var key in keys)
            instances.Add((await host.Runtime.StartAsync("probe", new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["key"] = key } })).InstanceId);
        var alone = (await host.Runtime.StartAsync("probe", new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["key"] = "alone-" + keys[0] } })).InstanceId;

        // Accepted in one call: one claim of the dispatcher, one batch.
        await host.Runtime.AcceptStimuliAsync(keys.Select(Probe).ToList());
        foreach (var instance in instances) await host.WaitForAsync(instance, s => s.Status == WorkflowStatus.Finished, TimeSpan.FromSeconds(60));
        await host.Runtime.SendStimulusAsync(Probe("alone-" + keys[0]));

        var seen = instances.Select(i => BatchProbe.Resumed[i]).ToArray();
        var batch = seen[0].Batch;
        Assert.True(batch is not null && seen.All(s => ReferenceEquals(s.Batch, batch) && ReferenceEquals(s.Shared, seen[0].Shared)),
            "the three runs did not see one batch and one shared object");
        Assert.Equal(3, seen[0].Shared!.Runs);
        var resumptions = batch.Resumptions.ToDictionary(r => r.Payload?["key"]?.GetValue<string>() ?? "", StringComparer.Ordinal);
        Assert.Equal(keys.Order(StringComparer.Ordinal), resumptions.Keys.Order(StringComparer.Ordinal));
        for (var i = 0; i < keys.Length; i++)
        {
            var resumption = resumptions[keys[i]];
            Assert.True(resumption.InstanceId == instances[i] && resumption.StimulusName == "Test.BatchProbe" && resumption.Input?["said"]?.GetValue<string>() == "hello " + keys[i],
                $"resumption of {keys[i]}: {resumption.InstanceId} {resumption.StimulusName} {resumption.Input?.ToJsonString()}");
        }
        // Disposed once the batch is done (its commit may still be going when the instances read finished).
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!seen[0].Shared!.Disposed && DateTime.UtcNow < until) await Task.Delay(20);
        Assert.True(seen[0].Shared!.Disposed, "the batch's shared object was not disposed after the batch");
        Assert.True(BatchProbe.Resumed[alone] is (null, null), "a run resumed on its own saw a batch");
    }
}
