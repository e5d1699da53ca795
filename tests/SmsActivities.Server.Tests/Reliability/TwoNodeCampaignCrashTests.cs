using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using SmsActivities.Sandbox;
using SmsActivities.Server.Tests.Infrastructure;
using Xunit.Abstractions;
using static SmsActivities.Server.Tests.Reliability.CampaignCrashTests;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// Two server processes on one PostgreSQL database run the campaign sample. The node running the campaign's send is
/// killed with SIGKILL while its second vendor batch is inside the call; the other node, which was up all along, takes
/// the instance over and finishes it. Counts come from the Yunpian emulator's handset records, which live in the test
/// process and so outlast the kill, as a real vendor's would.
/// </summary>
public sealed class TwoNodeCampaignCrashTests(ITestOutputHelper output)
{
    private const int BatchSize = 1_000; // Yunpian's batch_send limit

    [Fact]
    public async Task The_other_node_finishes_a_campaign_whose_node_was_killed_mid_batch_sending_nobody_twice_and_reporting_only_that_batch_in_doubt()
    {
        var campaign = await File.ReadAllTextAsync(Path.Combine(StudioFiles.WorkflowsFolder, "campaign.json"));
        await using var cluster = await PostgresNodes.CreateAsync("campaign-kill", new Dictionary<string, string> { ["campaign.json"] = campaign },
            new Dictionary<string, string?>
            {
                // No batch may time out (an answer that comes late is rightly in doubt, which is not under test): only
                // the held second call is in doubt, because its node dies inside it.
                ["Vendors:Yunpian:AttemptTimeout"] = "00:05:00",
                // Batches one after another, so the third is still unattempted when the node dies inside the second.
                ["Vendors:Yunpian:MaxConcurrentCalls"] = "1",
                // A lease lapses when its renewal (every second) is held up a whole lease: under load the 10 s default
                // lapsed, the other node recovered the instance (lease owner none) and no node could be told the sender.
                // A stalled owner is not under test here (SendRecordStoreTests: a batch started by one run only); the kill's takeover waits this long.
                ["Workflows:Runtime:LeaseDuration"] = "00:01:00",
            });
        await cluster.StartNodesAsync(2);
        var vendors = cluster.Vendors;
        vendors.ConnectTo(cluster.Nodes[0].BaseAddress);
        var recipients = Enumerable.Range(0, 3 * BatchSize).Select(i => $"+86139{i:D8}").ToArray();

        // The first batch is answered at once; the second is held by the vendor until its caller dies.
        vendors.Emulators.Yunpian.Faults.DelayNextCalls(1, TimeSpan.FromMinutes(30), afterCalls: 1);
        using var request = new HttpRequestMessage(HttpMethod.Post, "workflows/campaign") { Content = JsonContent.Create(new { recipients, text = "Flash sale tonight." }) };
        request.Headers.Add("Idempotency-Key", "flash-sale-two-nodes");
        using var accepted = await cluster.Clients[0].SendAsync(request);
        var body = await accepted.Content.ReadAsStringAsync();
        Assert.True(accepted.StatusCode == HttpStatusCode.Accepted, $"the campaign start answered {(int)accepted.StatusCode} {body}");
        var answer = JsonNode.Parse(body)!;
        var (campaignId, statusUrl) = (answer["campaignId"]!.GetValue<string>(), answer["statusUrl"]!.GetValue<string>());

        await ServerProcess.EventuallyAsync(() => Task.FromResult(BatchCalls(vendors) >= 2), TimeSpan.FromSeconds(240), "the second batch to reach Yunpian");
        // The send runs on whichever node took the campaign's asynchronous step: the one holding the instance's lease dies.
        var owner = await LeaseOwnerAsync(cluster, campaignId);
        var victim = cluster.Nodes.SingleOrDefault(n => owner?.Contains($":{n.Id}:", StringComparison.Ordinal) == true);
        Assert.True(victim is not null, $"no node holds the campaign's lease while its second batch is in the vendor call (lease owner '{owner}', nodes {string.Join(", ", cluster.Nodes.Select(n => n.Id))}); the nodes wrote: {string.Join(Environment.NewLine, cluster.Nodes.Select(n => $"{n.Id}: {n.RecentOutput}"))}");
        var survivor = cluster.Nodes.Single(n => n != victim);
        var survivorClient = cluster.Clients[cluster.Nodes.ToList().IndexOf(survivor)];
        victim.Kill();
        output.WriteLine($"killed node {victim.Id} (of {cluster.Nodes[0].Id}, {cluster.Nodes[1].Id}); its output:" + Environment.NewLine + victim.RecentOutput);
        vendors.ConnectTo(survivor.BaseAddress);
        vendors.Emulators.Yunpian.Faults.DelayNextCalls(0, TimeSpan.Zero);
        var sentBeforeCrash = vendors.Emulators.Yunpian.Sent.Count;
        Assert.True(sentBeforeCrash == BatchSize, $"the kill came with {sentBeforeCrash} sent, not with exactly the first batch answered; records by batch: {await RecordsByBatchAsync(cluster)}; Yunpian's calls: {YunpianCalls(vendors)}");

        JsonNode status;
        try
        {
            // The send step is over once the status no longer says "sending": every batch is answered or in doubt.
            status = await StatusWhenAsync(survivorClient, statusUrl, s => s != "sending", TimeSpan.FromSeconds(240));
        }
        catch (TimeoutException e)
        {
            var instance = await cluster.CountsAsync($"SELECT \"Status\" || '/' || \"SubStatus\" || ' incidents', \"IncidentCount\" FROM workflows.\"WorkflowInstances\" WHERE \"Id\" = '{campaignId}'");
            throw new TimeoutException($"{e.Message}; the instance is {string.Join(", ", instance.Select(i => $"{i.Key} {i.Value}"))}; Yunpian sent {vendors.Emulators.Yunpian.Sent.Count} in {BatchCalls(vendors)} batch calls; records by batch: "
                + $"{await RecordsByBatchAsync(cluster)}; lease owner now '{await LeaseOwnerAsync(cluster, campaignId)}'; the surviving node wrote: {survivor.RecentOutput}", e);
        }
        var summary = status["summary"]!;
        var seen = $"Yunpian got {BatchCalls(vendors)} batch calls and sent {vendors.Emulators.Yunpian.Sent.Count}, status {Compact(status.ToJsonString())}, "
            + $"records by batch: {await RecordsByBatchAsync(cluster)}";
        output.WriteLine(seen);

        var counts = vendors.Emulators.Yunpian.Sent.GroupBy(m => m.E164).ToDictionary(g => g.Key, g => g.Count());
        var twice = counts.Where(c => c.Value > 1).Select(c => c.Key).ToList();
        Assert.True(twice.Count == 0, $"{twice.Count} recipients got the SMS more than once, e.g. {string.Join(", ", twice.Take(5))}; {seen}");
        var inDoubt = summary["inDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()).ToHashSet();
        var lost = recipients.Where(r => !counts.ContainsKey(r) && !inDoubt.Contains(r)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} recipients were neither sent nor reported in doubt, e.g. {string.Join(", ", lost.Take(5))}; {seen}");
        // The emulator drops a held call whose caller died: that batch reached nobody, no report can settle it, and it stays in doubt.
        var secondBatch = recipients.Skip(BatchSize).Take(BatchSize).ToHashSet();
        Assert.True(inDoubt.SetEquals(secondBatch) && summary["inDoubt"]?.GetValue<int>() == BatchSize,
            $"in doubt: {summary["inDoubt"]?.ToJsonString() ?? "no count"}, {inDoubt.Count} recipients listed ({inDoubt.Count(secondBatch.Contains)} of the second batch), expected exactly the second batch of {BatchSize}; {seen}");
        Assert.True(summary["sent"]?.GetValue<int>() == 2 * BatchSize && vendors.Emulators.Yunpian.Sent.Count == 2 * BatchSize,
            $"expected the first and third batches sent ({2 * BatchSize}) by the vendor and in the summary; {seen}");
    }

    /// <summary>Yunpian's calls in order (path, recipients), to tell which one the held delay went to when a run goes wrong.</summary>
    private static string YunpianCalls(SandboxVendors vendors) =>
        string.Join(", ", vendors.Emulators.Requests.For("yunpian").Select(r => $"{r.Path} at {r.ReceivedAt:HH:mm:ss.fff} ({r.Body.Split("%2C").Length} numbers)"));

    private static async Task<string?> LeaseOwnerAsync(PostgresNodes cluster, string instanceId)
    {
        await using var connection = new NpgsqlConnection(cluster.Database);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("""SELECT "LeaseOwner" FROM workflows."WorkflowInstances" WHERE "Id" = @id""", connection);
        query.Parameters.AddWithValue("id", instanceId);
        return await query.ExecuteScalarAsync() as string;
    }

    /// <summary>The send records' statuses per batch of 1,000 (the recipients are numbered in order), e.g. "2: Pending×1000".</summary>
    private static async Task<string> RecordsByBatchAsync(PostgresNodes cluster)
    {
        var counts = await cluster.CountsAsync("""
            SELECT (substring("Mobile" from 7)::int / 1000 + 1)::text || ': ' || "Status", COUNT(*) FROM sms.sms_send_records GROUP BY 1 ORDER BY 1
            """);
        return counts.Count == 0 ? "none" : string.Join("; ", counts.Select(c => $"{c.Key}×{c.Value}"));
    }
}
