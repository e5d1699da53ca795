using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;
using SmsActivities.Persistence;
using SmsActivities.Sandbox;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Vendors;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// "Fail over on failed report" for a campaign: a send over <c>SmsActivities:MaxResultsInOutputs</c> (set to 5 here) to
/// 20 recipients, on the real server against the emulators over loopback. Yunpian reports some not delivered; Tencent
/// sends exactly those, once each, while every failed report is pushed again and again.
/// </summary>
public sealed class CampaignReportFailoverTests : ServerTest
{
    internal const string OutputsLimit = "5";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    protected override Task<ServerHost> StartServerAsync() =>
        ServerHost.StartAsync(new Dictionary<string, string?> { ["SmsActivities:MaxResultsInOutputs"] = OutputsLimit });

    private EmulatorSet Emulators => Server.Services.GetRequiredService<EmulatorSet>();

    internal static string[] Campaign(int first) => Enumerable.Range(first, 20).Select(i => $"+86137000{i:D5}").ToArray();

    [Fact]
    public async Task A_campaign_over_the_outputs_limit_fails_over_exactly_the_recipients_reported_not_delivered_once_each()
    {
        var mobiles = Campaign(300);
        var failing = mobiles.Where((_, i) => i % 4 == 1).ToArray();
        // The failed reports come 2 s after the send, while the step waits; the delivered ones at once (some before the wait began).
        foreach (var mobile in failing) Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV", TimeSpan.FromSeconds(2)));
        await PublishAsync(Client, ReportFailoverTests.Flow("campaign-report-failover", mobiles, "【SmsSandbox】Your parcel is ready"));
        var instanceId = await ExecuteAsync(Client, "campaign-report-failover");

        // Every failed report is pushed four more times, side by side with the vendor's own push.
        using var http = new HttpClient();
        var repeated = new ConcurrentDictionary<string, bool>();
        var repeats = new List<Task<HttpStatusCode>>();
        void RepeatFailedPushesSeen()
        {
            foreach (var push in Emulators.Pushes.Attempts.Where(p => p.Vendor == VendorNames.Yunpian && p.Kind == "status" && p.Body.Contains("UNDELIV", StringComparison.Ordinal)))
            {
                if (!repeated.TryAdd(push.Body, true)) continue;
                repeats.AddRange(Enumerable.Range(0, 4).Select(async _ =>
                {
                    using var content = new StringContent(push.Body, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded");
                    using var response = await http.PostAsync(push.Url, content);
                    return response.StatusCode;
                }));
            }
        }
        var deadline = DateTime.UtcNow + Patience;
        JsonObject done;
        while ((string?)(done = await InstanceAsync(Client, instanceId))["subStatus"] != "Finished")
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the instance is {done["subStatus"]}; handsets: {Handsets(mobiles)}");
            RepeatFailedPushesSeen();
            await Task.Delay(50);
        }
        // The emulator records a push once it is acknowledged, and the whole failover can run within one slow status read
        // (under load): pushes first seen after the step finished are repeated all the same (seen once: none repeated).
        while (repeated.Count < failing.Length && DateTime.UtcNow < deadline)
        {
            RepeatFailedPushesSeen();
            await Task.Delay(50);
        }
        Assert.All(await Task.WhenAll(repeats), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(failing.Length, repeated.Count);
        await Task.Delay(1000); // a second failover, were there one, would have reached the emulator by now

        var seen = $"outcome {done["workflowState"]!["variables"]?["Outcome"]}, outputs {done["workflowState"]!["activityOutputs"]?["Send"]?.ToJsonString()}; handsets: {Handsets(mobiles)}";
        foreach (var mobile in mobiles)
        {
            var inbox = Inbox(mobile);
            string[] expected = failing.Contains(mobile) ? [VendorNames.Yunpian, VendorNames.Tencent] : [VendorNames.Yunpian];
            Assert.True(inbox.SequenceEqual(expected), $"{mobile} got {string.Join(", ", inbox)}; {seen}");
        }
        Assert.True(done["workflowState"]!["variables"]?["Outcome"]?.ToString() == "Sent", seen);
        var outputs = done["workflowState"]!["activityOutputs"]!["Send"]!.AsObject();
        Assert.True(outputs["ResultsOmitted"]?.GetValue<bool>() == true && outputs["SentCount"]?.GetValue<int>() == mobiles.Length, seen);
        Assert.True(outputs["FailedOverRecipients"]!.AsArray().Select(n => n!.GetValue<string>()).Order().SequenceEqual(failing.Order()), seen);

        // Each failed-over recipient's record names Tencent, two attempts; the others Yunpian, one.
        var factory = Server.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var records = await db.SendRecords.AsNoTracking().Where(r => mobiles.Contains(r.Mobile)).ToListAsync();
        Assert.Equal(mobiles.Length, records.Count);
        Assert.All(records, r => Assert.True(failing.Contains(r.Mobile)
            ? r is { Vendor: VendorNames.Tencent, Status: SendRecordStatus.Accepted, Attempts: 2 }
            : r is { Vendor: VendorNames.Yunpian, Status: SendRecordStatus.Accepted, Attempts: 1 }, $"{r.Mobile}: {r.Vendor} {r.Status} attempts {r.Attempts}"));
    }

    [Fact]
    public async Task A_campaign_fails_over_twice_along_a_three_vendor_chain_sending_each_recipient_once_per_vendor()
    {
        var mobiles = Campaign(400);
        var twice = mobiles.Where((_, i) => i % 5 == 2).ToArray(); // not delivered by Yunpian, then not by Tencent
        var once = mobiles.Where((_, i) => i % 5 == 4).ToArray(); // not delivered by Yunpian only
        foreach (var mobile in twice.Concat(once)) Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV", TimeSpan.FromSeconds(1)));
        foreach (var mobile in twice) Emulators.Tencent.Script.For(mobile, DeliveryPlan.Fail("UNDELIV", TimeSpan.FromSeconds(1)));
        var flow = ReportFailoverTests.Flow("campaign-three-vendors", mobiles, "【SmsSandbox】Your parcel is ready");
        Send(flow)["failover"] = Expr("Object", $"[\"{VendorNames.Tencent}\",\"{VendorNames.Yaningai}\"]");
        await PublishAsync(Client, flow);
        var done = await FinishedAsync(await ExecuteAsync(Client, "campaign-three-vendors"), mobiles);
        await Task.Delay(1000); // a third failover, were there one, would have reached a vendor by now

        var seen = $"outcome {done["workflowState"]!["variables"]?["Outcome"]}, outputs {done["workflowState"]!["activityOutputs"]?["Send"]?.ToJsonString()}; handsets: {Handsets(mobiles)}";
        foreach (var mobile in mobiles)
        {
            string[] expected = twice.Contains(mobile) ? [VendorNames.Yunpian, VendorNames.Tencent, VendorNames.Yaningai]
                : once.Contains(mobile) ? [VendorNames.Yunpian, VendorNames.Tencent] : [VendorNames.Yunpian];
            Assert.True(Inbox(mobile).SequenceEqual(expected), $"{mobile} got {string.Join(", ", Inbox(mobile))}; {seen}");
        }
        Assert.True(done["workflowState"]!["variables"]?["Outcome"]?.ToString() == "Sent", seen);
        var outputs = done["workflowState"]!["activityOutputs"]!["Send"]!.AsObject();
        Assert.True(outputs["SentCount"]?.GetValue<int>() == mobiles.Length && outputs["UndeliveredRecipients"]!.AsArray().Count == 0, seen);

        var factory = Server.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var records = await db.SendRecords.AsNoTracking().Where(r => mobiles.Contains(r.Mobile)).ToListAsync();
        Assert.Equal(mobiles.Length, records.Count);
        Assert.All(records, r => Assert.True(
            twice.Contains(r.Mobile) ? r is { Vendor: VendorNames.Yaningai, Status: SendRecordStatus.Accepted, Attempts: 3 }
            : once.Contains(r.Mobile) ? r is { Vendor: VendorNames.Tencent, Status: SendRecordStatus.Accepted, Attempts: 2 }
            : r is { Vendor: VendorNames.Yunpian, Status: SendRecordStatus.Accepted, Attempts: 1 }, $"{r.Mobile}: {r.Vendor} {r.Status} attempts {r.Attempts}"));
    }

    [Fact]
    public async Task A_campaign_in_doubt_lists_its_in_doubt_recipients_only_up_to_the_outputs_limit()
    {
        var mobiles = Campaign(500);
        // Yunpian sends the one batch and loses its answer; no report ever comes, so every recipient stays in doubt.
        foreach (var mobile in mobiles) Emulators.Yunpian.Script.For(mobile, DeliveryPlan.NeverReport);
        Emulators.Yunpian.Faults.FailNextCalls(1, EmulatorFault.AcceptThenFail, 500);
        await PublishAsync(Client, ReportFailoverTests.Flow("campaign-in-doubt", mobiles, "【SmsSandbox】Your parcel is ready", reportWait: "00:00:03"));
        var done = await FinishedAsync(await ExecuteAsync(Client, "campaign-in-doubt"), mobiles);

        var outputs = done["workflowState"]!["activityOutputs"]!["Send"]!.AsObject();
        var seen = $"outcome {done["workflowState"]!["variables"]?["Outcome"]}, outputs {outputs.ToJsonString()}; handsets: {Handsets(mobiles)}";
        Assert.True(done["workflowState"]!["variables"]?["Outcome"]?.ToString() == "Unknown" && outputs["ResultsOmitted"]?.GetValue<bool>() == true, seen);
        // Over the limit the list is left empty, as Results and the other per-recipient lists are: the send records hold them.
        Assert.True(outputs["InDoubtRecipients"]!.AsArray().Count == 0, seen);
        Assert.Equal(mobiles.Length, mobiles.Count(m => Inbox(m).SequenceEqual([VendorNames.Yunpian])));
    }

    private static JsonObject Send(JsonObject flow) => flow["root"]!["activities"]!.AsArray().Single(a => (string?)a!["id"] == "Send")!.AsObject();

    private async Task<JsonObject> FinishedAsync(string instanceId, string[] mobiles)
    {
        var deadline = DateTime.UtcNow + Patience;
        JsonObject done;
        while ((string?)(done = await InstanceAsync(Client, instanceId))["subStatus"] != "Finished")
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the instance is {done["subStatus"]}; handsets: {Handsets(mobiles)}");
            await Task.Delay(100);
        }
        return done;
    }

    private string[] Inbox(string mobile) => SandboxSettings.HandsetInbox(Emulators, PhoneNumber.Parse(mobile)).Select(m => m.Vendor).ToArray();

    private string Handsets(IEnumerable<string> mobiles) => string.Join("; ", mobiles.Select(m => $"{m}: {string.Join(",", Inbox(m))}"));
}
