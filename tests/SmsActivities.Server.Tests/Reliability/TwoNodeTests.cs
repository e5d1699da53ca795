using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>Two server processes on one PostgreSQL database, the vendor emulators in the test process.</summary>
public sealed class TwoNodeTests(ITestOutputHelper output)
{
    /// <summary>Start → SendSms (Yunpian, to the input's mobile) → WaitForDeliveryReport of that send.</summary>
    private const string SendAndWait = """
    {
      "definitionId": "send-and-wait", "name": "send-and-wait", "version": 1, "isPublished": true, "isLatest": true,
      "root": {
        "id": "Flowchart1", "type": "Elsa.Flowchart", "version": 1,
        "activities": [
          { "id": "Start1", "type": "Elsa.Start", "version": 1 },
          { "id": "Send1", "type": "SmsActivities.SendSms", "version": 1,
            "vendor": { "typeName": "String", "expression": { "type": "Literal", "value": "yunpian" } },
            "recipients": { "typeName": "Object", "expression": { "type": "JavaScript", "value": "getInput('mobile')" } },
            "text": { "typeName": "String", "expression": { "type": "Literal", "value": "Your parcel is on its way" } } },
          { "id": "Wait1", "type": "SmsActivities.WaitForDeliveryReport", "version": 1,
            "sendSmsActivityId": { "typeName": "String", "expression": { "type": "Literal", "value": "Send1" } },
            "timeout": { "typeName": "TimeSpan", "expression": { "type": "Literal", "value": "00:30:00" } } }
        ],
        "connections": [
          { "source": { "activity": "Start1", "port": "Done" }, "target": { "activity": "Send1", "port": "In" } },
          { "source": { "activity": "Send1", "port": "Sent" }, "target": { "activity": "Wait1", "port": "In" } }
        ]
      }
    }
    """;

    private static readonly int Parallelism = int.Parse(Environment.GetEnvironmentVariable("TWO_NODE_PARALLELISM") ?? "8", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>How long the count of finished instances may stand still before the rest are taken as stuck.</summary>
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(120);

    private const string ResumesPerInstance = """
        SELECT "InstanceId", COUNT(*) FROM workflows."WorkflowExecutionLog" WHERE "EventName" = 'Resumed' AND "ActivityType" = 'SmsActivities.WaitForDeliveryReport' GROUP BY 1
        """;

    private const string DeliveredPerInstance = """
        SELECT "InstanceId", COUNT(*) FROM workflows."WorkflowExecutionLog" WHERE "EventName" = 'Completed' AND "ActivityType" = 'SmsActivities.WaitForDeliveryReport' AND "Json" LIKE '%Delivered%' GROUP BY 1
        """;

    /// <summary>
    /// Every instance sends once and its wait completes exactly once (resumed at most once), whichever node the vendor's
    /// push (and its duplicate) reaches. 2,000 instances by default, started 8 at a time across both nodes as a busy client
    /// would (<c>TWO_NODE_INSTANCES</c>, <c>TWO_NODE_PARALLELISM</c> change it; about 90 s on an idle 2-core machine, while
    /// a heavily loaded one was seen to outlast the client's 60 s timeout on a start). The wait for them ends when all finished, or when none finished for
    /// <see cref="Stall"/>, so a loaded machine is waited for and a stuck instance still fails.
    /// </summary>
    [Fact]
    public async Task Reports_pushed_to_either_node_at_random_with_duplicates_resume_each_instance_exactly_once()
    {
        var instances = int.Parse(Environment.GetEnvironmentVariable("TWO_NODE_INSTANCES") ?? "2000", System.Globalization.CultureInfo.InvariantCulture);
        await using var cluster = await PostgresNodes.CreateAsync("two-node", new Dictionary<string, string> { ["send-and-wait.json"] = SendAndWait });
        await cluster.StartNodesAsync(2);
        await using var balancer = await PushBalancer.StartAsync(cluster.Nodes.Select(n => n.BaseAddress).ToList(), seed: 11, duplicateShare: 0.3);
        cluster.Vendors.ConnectTo(balancer.BaseAddress);

        var clock = Stopwatch.StartNew();
        var mobiles = Enumerable.Range(0, instances).Select(i => $"+86137{i:D8}").ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, instances), new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (i, ct) =>
        {
            using var started = await cluster.Clients[i % 2].PostAsJsonAsync("elsa/api/workflow-definitions/send-and-wait/execute",
                new JsonObject { ["input"] = new JsonObject { ["mobile"] = mobiles[i] } }, ct);
            Assert.True(started.IsSuccessStatusCode,
                $"start {i} answered {(int)started.StatusCode} {await started.Content.ReadAsStringAsync(ct)}; the node wrote: {cluster.Nodes[i % 2].RecentOutput}");
        });
        var startSeconds = clock.Elapsed.TotalSeconds;
        output.WriteLine($"{instances} started in {startSeconds:0.0} s ({instances / startSeconds:0.0}/s, {Parallelism} at a time)");

        var finished = "SELECT COUNT(*) FROM workflows.\"WorkflowInstances\" WHERE \"DefinitionId\" = 'send-and-wait' AND \"SubStatus\" = 'Finished'";
        var (done, lastDone, lastProgress) = (0L, -1L, Stopwatch.StartNew());
        while ((done = await cluster.CountAsync(finished)) < instances)
        {
            if (done != lastDone) (lastDone, lastProgress) = (done, Stopwatch.StartNew());
            else if (lastProgress.Elapsed > Stall)
            {
                var states = await cluster.CountsAsync("SELECT \"SubStatus\", COUNT(*) FROM workflows.\"WorkflowInstances\" GROUP BY 1");
                Assert.Fail($"{done} of {instances} instances finished and none more in {Stall.TotalSeconds} s: instances by sub-status "
                    + $"{string.Join(", ", states.Select(s => $"{s.Key}={s.Value}"))}; {cluster.Vendors.Emulators.Yunpian.Sent.Count} sent, "
                    + $"{cluster.Vendors.Emulators.Pushes.Attempts.Count} push attempts");
            }
            await Task.Delay(500);
        }
        output.WriteLine($"all finished after {clock.Elapsed.TotalSeconds:0.0} s; pushes forwarded {string.Join(", ", balancer.Forwarded.Select(f => $"{f.Key.Port}={f.Value}"))}, "
            + $"{balancer.Duplicates} delivered twice");

        var sent = cluster.Vendors.Emulators.Yunpian.Sent;
        var twice = sent.GroupBy(m => m.E164).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(sent.Count == instances && twice.Count == 0, $"Yunpian sent {sent.Count} messages for {instances} instances; more than once to {twice.Count}, e.g. {string.Join(", ", twice.Take(5))}");
        // A report that came before its wait began is counted when the wait begins (no resume); one that came after resumes
        // it. Either way each wait completes exactly once, and none is resumed twice.
        var resumes = await cluster.CountsAsync(ResumesPerInstance);
        var resumedTwice = resumes.Where(r => r.Value > 1).ToList();
        var completions = await cluster.CountsAsync(DeliveredPerInstance);
        var wrong = completions.Where(c => c.Value != 1).ToList();
        Assert.True(completions.Count == instances && wrong.Count == 0 && resumedTwice.Count == 0,
            $"{completions.Count} of {instances} waits completed as Delivered ({resumes.Count} of them by a resume); {wrong.Count} completed more than once, "
            + $"e.g. {string.Join(", ", wrong.Take(5).Select(w => $"{w.Key}×{w.Value}"))}; {resumedTwice.Count} resumed more than once, "
            + $"e.g. {string.Join(", ", resumedTwice.Take(5).Select(w => $"{w.Key}×{w.Value}"))}");
        Assert.True(balancer.Duplicates > 0 && balancer.Forwarded.Count == 2, $"the pushes were not spread with duplicates: {balancer.Duplicates} duplicates, {balancer.Forwarded.Count} nodes reached");
    }

    /// <summary>
    /// The Yunpian report poller is configured on both nodes; only the node holding the cluster's lock for it polls, so
    /// the vendor sees one pull per interval, not two, and the reports it pulls resume their instances once each.
    /// </summary>
    [Fact]
    public async Task A_pull_poller_configured_on_both_nodes_polls_once_per_interval()
    {
        var interval = TimeSpan.FromSeconds(2);
        await using var cluster = await PostgresNodes.CreateAsync("two-node-pull", new Dictionary<string, string> { ["send-and-wait.json"] = SendAndWait },
            new Dictionary<string, string?>
            {
                ["SmsActivities:Pull:yunpian:Enabled"] = "true",
                ["SmsActivities:Pull:yunpian:Replies"] = "false",
                ["SmsActivities:Pull:yunpian:Interval"] = interval.ToString(),
            });
        await cluster.StartNodesAsync(2); // no push address: the emulator keeps the reports for pull_status
        int Pulls() => cluster.Vendors.Emulators.Requests.For("yunpian", "pull_status.json").Count;
        await ServerProcess.EventuallyAsync(() => Task.FromResult(Pulls() > 0), TimeSpan.FromSeconds(60), "the first pull");

        const int instances = 4;
        for (var i = 0; i < instances; i++)
        {
            using var started = await cluster.Clients[i % 2].PostAsJsonAsync("elsa/api/workflow-definitions/send-and-wait/execute",
                new JsonObject { ["input"] = new JsonObject { ["mobile"] = $"+86136{i:D8}" } });
            Assert.True(started.IsSuccessStatusCode, $"start {i} answered {(int)started.StatusCode}; the node wrote: {cluster.Nodes[i % 2].RecentOutput}");
        }
        var before = Pulls();
        var window = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(16));
        var pulls = Pulls() - before;
        var elapsed = window.Elapsed;
        // One poller ticks at most once per interval (a late tick is not made up twice); two would pull about twice as often.
        var most = (int)(elapsed / interval) + 2;
        output.WriteLine($"{pulls} pulls in {elapsed.TotalSeconds:0.0} s at one per {interval.TotalSeconds} s (at most {most} allowed)");
        Assert.True(pulls <= most, $"{pulls} pull_status calls in {elapsed.TotalSeconds:0.0} s with a {interval.TotalSeconds} s interval: more than one node polls (at most {most} expected)");
        Assert.True(pulls >= 2, $"only {pulls} pull_status calls in {elapsed.TotalSeconds:0.0} s: nobody polls");

        await ServerProcess.EventuallyAsync(async () => await cluster.CountAsync(
            "SELECT COUNT(*) FROM workflows.\"WorkflowInstances\" WHERE \"DefinitionId\" = 'send-and-wait' AND \"SubStatus\" = 'Finished'") == instances,
            TimeSpan.FromSeconds(120), "the pulled reports to finish every instance");
        // A report pulled before its wait began is counted when the wait begins (no resume); one pulled after resumes it.
        // Either way each wait completes once as Delivered, and none is resumed twice.
        var resumes = await cluster.CountsAsync(ResumesPerInstance);
        var completions = await cluster.CountsAsync(DeliveredPerInstance);
        Assert.True(completions.Count == instances && completions.All(c => c.Value == 1) && resumes.All(r => r.Value == 1),
            $"{completions.Count} of {instances} waits completed as Delivered ({resumes.Count} of them by a resume); completions per wait "
            + string.Join(", ", completions.Select(c => c.Value)) + "; resumes per wait " + string.Join(", ", resumes.Select(r => r.Value)));
    }
}
