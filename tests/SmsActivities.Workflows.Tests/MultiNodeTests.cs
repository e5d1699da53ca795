using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// Two runtime nodes (two hosts, each with its background service, leases and claims) on one PostgreSQL database, the
/// way two server processes share it.
/// </summary>
public class MultiNodeTests
{
    private const int Instances = 150;

    [Fact]
    public async Task Reports_sent_to_either_node_at_random_and_duplicated_resume_every_instance_exactly_once()
    {
        await using var store = await TestStore.CreateAsync(TestStore.PostgreSql);
        var written = new StringWriter();
        var console = TextWriter.Synchronized(written);
        void SharedConsole(IServiceCollection services) => services.AddSingleton(new WorkflowConsole(console));
        await using var a = await TestHost.StartAsync(store, configureServices: SharedConsole);
        await using var b = await TestHost.StartAsync(store, configureServices: SharedConsole);
        await a.PublishAsync("wait-report",
            Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("report")}"), Act("Done1", "Elsa.WriteLine", $"\"text\":{Js("'done ' + getWorkflowInstanceId()")}")),
            Arr(Conn("Event1", "Done1")));
        var ids = new List<string>();
        for (var i = 0; i < Instances; i++) ids.Add((await (i % 2 == 0 ? a : b).Runtime.StartAsync("wait-report")).InstanceId);

        // Every report twice (same dedupe key), each copy to a node picked at random, all at once.
        var random = new Random(7);
        var sends = ids.SelectMany(id => new[] { (id, random.Next(2)), (id, random.Next(2)) }).OrderBy(_ => random.Next()).ToList();
        await Parallel.ForEachAsync(sends, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (send, ct) =>
        {
            var node = send.Item2 == 0 ? a : b;
            await node.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "report" }, new JsonObject())
            {
                WorkflowInstanceId = send.id,
                DedupeKey = "report-" + send.id,
            }, ct);
        });

        var deadline = DateTime.UtcNow.AddSeconds(120);
        List<string> unfinished;
        do
        {
            unfinished = [];
            foreach (var id in ids)
                if ((await a.Instances.GetStateAsync(id))?.SubStatus != WorkflowSubStatus.Finished) unfinished.Add(id);
            if (unfinished.Count == 0 || DateTime.UtcNow > deadline) break;
            await Task.Delay(250);
        }
        while (true);
        Assert.True(unfinished.Count == 0, $"{unfinished.Count} of {Instances} instances not finished, e.g. {string.Join(", ", unfinished.Take(5))}");
        var lines = written.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var twice = lines.GroupBy(l => l).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(twice.Count == 0, $"resumed more than once: {string.Join(", ", twice.Take(5))}");
        Assert.Equal(Instances, lines.Length);
    }

    [Fact]
    public async Task A_singleton_job_runs_on_one_node_and_moves_to_the_other_when_that_node_stops()
    {
        await using var store = await TestStore.CreateAsync(TestStore.PostgreSql);
        var a = await TestHost.StartAsync(store);
        await using var b = await TestHost.StartAsync(store);
        var onA = await a.Services.GetRequiredService<ClusterLeadership>().IsLeaderAsync("test-poller", CancellationToken.None);
        var onB = await b.Services.GetRequiredService<ClusterLeadership>().IsLeaderAsync("test-poller", CancellationToken.None);
        Assert.True(onA && !onB, $"leader on A: {onA}, on B: {onB} (exactly A, which asked first)");
        Assert.True(await a.Services.GetRequiredService<ClusterLeadership>().IsLeaderAsync("test-poller", CancellationToken.None), "A lost the role it holds");

        await a.DisposeAsync(); // its connection closes with the host
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await b.Services.GetRequiredService<ClusterLeadership>().IsLeaderAsync("test-poller", CancellationToken.None))
        {
            Assert.True(DateTime.UtcNow < deadline, "B did not take the role over within 30 s of A stopping");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// A stimulus that must not wait in the inbox takes no hash lock: such hashes are often shared by every push (a
    /// trigger's "any report" filter), so another node's transaction holding one must not hold this send up. The lock
    /// is held here by a plain connection for as long as the send may take; the send must still match and resume.
    /// </summary>
    [Fact]
    public async Task A_stimulus_that_cannot_wait_is_not_held_up_by_another_transaction_locking_its_hash()
    {
        await using var store = await TestStore.CreateAsync(TestStore.PostgreSql);
        await using var node = await TestHost.StartAsync(store);
        await node.PublishAsync("wait-shared",
            Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("shared")}"), Act("Done1", "Elsa.WriteLine", $"\"text\":{Lit("done")}")),
            Arr(Conn("Event1", "Done1")));
        var id = (await node.Runtime.StartAsync("wait-shared")).InstanceId;
        var stimulus = new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "shared" }, new JsonObject()) { WorkflowInstanceId = id, KeepInInbox = false };

        await using var other = new Npgsql.NpgsqlConnection(store.Settings.ConnectionString);
        await other.OpenAsync();
        await using var holding = await other.BeginTransactionAsync();
        await using (var take = new Npgsql.NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext(@key))", other, holding))
        {
            take.Parameters.AddWithValue("key", "stimulus:" + stimulus.Hash);
            await take.ExecuteScalarAsync();
        }
        var send = node.Runtime.SendStimulusAsync(stimulus);
        var finished = await Task.WhenAny(send, Task.Delay(TimeSpan.FromSeconds(25))) == send;
        await holding.RollbackAsync();
        Assert.True(finished, "the send of a stimulus that cannot wait was still blocked after 25 s behind another transaction holding its hash's lock");
        var result = await send;
        Assert.True(!result.Duplicate && !result.StoredInInbox && result.Runs.Count + result.Deferred == 1,
            $"the stimulus matched {result.Runs.Count} runs and {result.Deferred} deferred deliveries (duplicate: {result.Duplicate}, in the inbox: {result.StoredInInbox}); one resume expected");
        var state = await node.WaitForAsync(id, s => s.SubStatus == WorkflowSubStatus.Finished, TimeSpan.FromSeconds(60));
        Assert.Equal(WorkflowSubStatus.Finished, state.SubStatus);
    }
}
