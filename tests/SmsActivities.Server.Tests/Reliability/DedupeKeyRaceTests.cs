using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// Two server processes on one PostgreSQL database, each sent the same idempotent start at the same moment (a client
/// retrying through a load balancer): both nodes record a stimulus with the same dedupe key at once, and the unique key
/// decides which one starts the workflow. That race is expected, so it must neither log an error nor start twice.
/// </summary>
public sealed class DedupeKeyRaceTests(ITestOutputHelper output)
{
    private const int Keys = 40;

    [Fact]
    public async Task The_same_idempotent_start_sent_to_two_nodes_at_once_starts_once_and_logs_no_error()
    {
        await using var cluster = await PostgresNodes.CreateAsync("dedupe-race", new Dictionary<string, string>());
        await cluster.StartNodesAsync(2);
        // What the nodes wrote while starting (the first one's migrations of a new database) is not part of the race.
        var startup = cluster.Nodes.Select(n => Lines(n).Length).ToArray();
        var trigger = Act("Http1", "Elsa.HttpEndpoint",
            new JsonObject { ["path"] = Lit("race-start"), ["supportedMethods"] = Expr("Object", "[\"POST\"]", "String[]"), ["idempotencyHeader"] = Lit("Idempotency-Key") },
            new JsonObject { ["canStartWorkflow"] = true });
        await PublishAsync(cluster.Clients[0], Flowchart("race-start", [trigger, Respond("Answer", Lit("started"))], [Conn("Http1", "Answer")]));

        async Task<int> StartAsync(HttpClient node, string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "workflows/race-start") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", key);
            using var answer = await node.SendAsync(request);
            return (int)answer.StatusCode;
        }

        // Each key sent twice to each node, the four requests together; a few keys in flight at a time.
        var statuses = new System.Collections.Concurrent.ConcurrentBag<int>();
        await Parallel.ForEachAsync(Enumerable.Range(0, Keys), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (key, _) =>
        {
            foreach (var status in await Task.WhenAll(cluster.Clients.SelectMany(c => new[] { StartAsync(c, $"race-{key}"), StartAsync(c, $"race-{key}") })))
                statuses.Add(status);
        });

        var instances = await cluster.CountAsync("""SELECT COUNT(*) FROM workflows."WorkflowInstances" WHERE "DefinitionId" = 'race-start'""");
        var logs = string.Join(Environment.NewLine, cluster.Nodes.Select((n, i) => $"node {i}:{Environment.NewLine}{n.RecentOutput}"));
        output.WriteLine($"{instances} instances for {Keys} keys sent 4 times each; answers {string.Join(", ", statuses.GroupBy(s => s).Select(g => $"{g.Key}×{g.Count()}"))}; "
                         + $"nodes' output:{Environment.NewLine}{logs}");
        Assert.Equal(Keys, instances);
        Assert.DoesNotContain(statuses, s => s >= 500);
        // The nodes log at Warning and above: a lost race on a dedupe key is neither.
        var errors = cluster.Nodes.SelectMany((n, i) => Lines(n).Skip(startup[i]))
            .Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal) || l.Contains("DbUpdateException", StringComparison.Ordinal)
                        || l.Contains("duplicate key", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.True(errors.Count == 0, $"errors logged during the race:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
    }

    private static string[] Lines(ServerProcess node) => node.RecentOutput.Split(Environment.NewLine);
}
