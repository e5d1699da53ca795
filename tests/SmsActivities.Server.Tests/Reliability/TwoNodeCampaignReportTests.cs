using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static SmsActivities.Server.Tests.Reliability.CampaignCrashTests;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// One campaign on two server processes on one PostgreSQL database: the delivery reports of its one send are pushed
/// to either node at random, some twice at once (to either node), so both nodes record reports of the same send side
/// by side. Each report counts once, none is lost, and the campaign finishes.
/// </summary>
public sealed class TwoNodeCampaignReportTests(ITestOutputHelper output)
{
    private const int Recipients = 200;

    [Fact]
    public async Task Reports_of_one_campaign_pushed_to_both_nodes_at_once_with_duplicates_each_count_once()
    {
        var campaign = await File.ReadAllTextAsync(Path.Combine(StudioFiles.WorkflowsFolder, "campaign.json"));
        await using var cluster = await PostgresNodes.CreateAsync("campaign-reports", new Dictionary<string, string> { ["campaign.json"] = campaign },
            new Dictionary<string, string?>
            {
                // The send must be answered, not left in doubt by a slow machine: its reports then answer the send's one wait.
                ["Vendors:Yunpian:AttemptTimeout"] = "00:05:00",
            });
        await cluster.StartNodesAsync(2);
        await using var balancer = await PushBalancer.StartAsync(cluster.Nodes.Select(n => n.BaseAddress).ToList(), seed: 5, duplicateShare: 0.3);
        cluster.Vendors.ConnectTo(balancer.BaseAddress);
        var recipients = Enumerable.Range(0, Recipients).Select(i => $"+86135{i:D8}").ToArray();

        var clock = Stopwatch.StartNew();
        using var accepted = await cluster.Clients[0].PostAsJsonAsync("workflows/campaign", new { recipients, text = "Two nodes, one campaign." });
        var body = await accepted.Content.ReadAsStringAsync();
        Assert.True(accepted.StatusCode == HttpStatusCode.Accepted, $"the campaign start answered {(int)accepted.StatusCode} {body}");
        var statusUrl = JsonNode.Parse(body)!["statusUrl"]!.GetValue<string>();
        JsonNode status;
        try
        {
            status = await StatusWhenAsync(cluster.Clients[1], statusUrl, s => s == "finished", TimeSpan.FromSeconds(300));
        }
        catch (TimeoutException e)
        {
            var instances = await cluster.CountsAsync("SELECT \"Status\" || '/' || \"SubStatus\" || ' incidents ' || \"IncidentCount\", COUNT(*) FROM workflows.\"WorkflowInstances\" GROUP BY 1");
            throw new TimeoutException($"{e.Message}; instances {string.Join(", ", instances.Select(i => $"{i.Key}×{i.Value}"))}; Yunpian sent {cluster.Vendors.Emulators.Yunpian.Sent.Count}; "
                + $"{balancer.Forwarded.Values.Sum()} pushes forwarded; the nodes wrote:\n{cluster.Nodes[0].RecentOutput}\n---\n{cluster.Nodes[1].RecentOutput}", e);
        }
        var reportSpan = await cluster.CountAsync("""
            SELECT COALESCE(MAX("ReceivedAt") - MIN("ReceivedAt"), 0) FROM workflows."Stimuli" WHERE "DedupeKey" LIKE 'report:%:send:%'
            """);
        output.WriteLine($"finished after {clock.Elapsed.TotalSeconds:0.0} s; reports recorded over {reportSpan} ms; pushes forwarded "
            + $"{string.Join(", ", balancer.Forwarded.Select(f => $"{f.Key.Port}={f.Value}"))}, {balancer.Duplicates} delivered twice");

        var summary = status["summary"]!;
        var seen = Compact(status.ToJsonString());
        Assert.True(summary["sent"]!.GetValue<int>() == Recipients && summary["firstRound"]!["delivered"]!.GetValue<int>() == Recipients
                    && summary["resent"]!.GetValue<int>() == 0 && summary["inDoubt"]!.GetValue<int>() == 0,
            $"expected {Recipients} sent and delivered in the first round, none resent or in doubt: {seen}");
        // Each report of the send is recorded once as the wait's stimulus, whichever node took it and however often.
        var recorded = await cluster.CountsAsync("""
            SELECT "DedupeKey", COUNT(*) FROM workflows."Stimuli" WHERE "DedupeKey" LIKE 'report:%:send:%' GROUP BY 1
            """);
        Assert.True(recorded.Count == Recipients && recorded.Values.All(c => c == 1),
            $"{recorded.Count} reports of {Recipients} recorded for the send, {recorded.Count(r => r.Value > 1)} more than once; {seen}");
        Assert.True(balancer.Duplicates > 0 && balancer.Forwarded.Count == 2, $"the pushes were not spread with duplicates: {balancer.Duplicates} duplicates, {balancer.Forwarded.Count} nodes reached");
    }
}
