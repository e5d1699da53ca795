using System.Text;
using SmsActivities.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// Two server processes on one PostgreSQL database, each pushed the same delivery reports at the same moment (a vendor
/// retrying through a load balancer): both nodes record the same stimuli at once, and the unique dedupe key decides
/// which node keeps each. That race is expected, so it must neither log an error nor store a report twice.
/// </summary>
public sealed class DuplicatePushRaceTests(ITestOutputHelper output)
{
    private const int Reports = 60;

    [Fact]
    public async Task The_same_reports_pushed_to_two_nodes_at_once_are_stored_once_and_log_no_error()
    {
        // No gathering: each node claims a push the moment it is stored, so the two nodes' transactions overlap.
        await using var cluster = await PostgresNodes.CreateAsync("dedupe-race", new Dictionary<string, string>(),
            new Dictionary<string, string?> { ["SmsActivities:Inbox:MaxDelay"] = "00:00:00" });
        await cluster.StartNodesAsync(2);
        // What the nodes wrote while starting (the first one's migrations of a new database) is not part of the race.
        var startup = cluster.Nodes.Select(n => Lines(n).Length).ToArray();
        var token = cluster.Vendors.WebhookToken;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        async Task PushAsync(Uri node, int report)
        {
            var body = $$"""
                [{"user_receive_time":"2026-11-21 10:00:00","nationcode":"86","mobile":"138001{{report:D5}}","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"race-sid-{{report}}"}]
                """;
            using var answer = await http.PostAsync(new Uri(node, $"webhooks/sms/tencent/status/{token}"), new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True(answer.IsSuccessStatusCode, $"push {report} to {node} answered {(int)answer.StatusCode}: {await answer.Content.ReadAsStringAsync()}");
        }

        // Each report to both nodes twice, the four pushes sent together; a few reports in flight at a time.
        await Parallel.ForEachAsync(Enumerable.Range(0, Reports), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (report, _) =>
            await Task.WhenAll(cluster.Nodes.SelectMany(n => new[] { PushAsync(n.BaseAddress, report), PushAsync(n.BaseAddress, report) })));
        await ServerProcess.EventuallyAsync(async () => await cluster.CountAsync("SELECT COUNT(*) FROM sms.sms_push_inbox") == 0,
            TimeSpan.FromSeconds(120), "both nodes to drain their push inboxes");

        var stored = await cluster.CountAsync("""SELECT COUNT(*) FROM workflows."Stimuli" WHERE "DedupeKey" LIKE 'report:tencent:race-sid-%'""");
        var distinct = await cluster.CountAsync("""SELECT COUNT(DISTINCT "DedupeKey") FROM workflows."Stimuli" WHERE "DedupeKey" LIKE 'report:tencent:race-sid-%'""");
        var logs = string.Join(Environment.NewLine, cluster.Nodes.Select((n, i) => $"node {i}:{Environment.NewLine}{n.RecentOutput}"));
        output.WriteLine($"{stored} report stimuli stored ({distinct} keys) for {Reports} reports pushed 4 times each; nodes' output:{Environment.NewLine}{logs}");
        Assert.Equal(Reports, stored);
        Assert.Equal(Reports, distinct);
        // The nodes log at Warning and above: a lost race on a dedupe key is neither.
        var errors = cluster.Nodes.SelectMany((n, i) => Lines(n).Skip(startup[i]))
            .Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal) || l.Contains("DbUpdateException", StringComparison.Ordinal)
                        || l.Contains("duplicate key", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.True(errors.Count == 0, $"errors logged during the race:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
    }

    private static string[] Lines(ServerProcess node) => node.RecentOutput.Split(Environment.NewLine);
}
