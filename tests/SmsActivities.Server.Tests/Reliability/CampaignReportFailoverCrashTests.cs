using SmsActivities.Emulators;
using SmsActivities.Sandbox;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Vendors;
using Xunit.Abstractions;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// A campaign over <c>SmsActivities:MaxResultsInOutputs</c> (5 here) of 20 recipients, Yunpian reporting four of them not
/// delivered: the server, a real process, is killed with SIGKILL while the failovers are under way, then started again
/// on the same data. The vendor emulators run in the test process, so they remember what they sent across the crash.
/// </summary>
public sealed class CampaignReportFailoverCrashTests(ITestOutputHelper output)
{
    private const string ApiKey = "campaign-report-failover-crash-key";

    [Fact]
    public async Task A_kill_after_a_failed_report_is_acknowledged_fails_over_each_failed_recipient_exactly_once_after_the_restart()
    {
        var (failing, outcome, seen) = await KillAndRestartAsync(400, vendors =>
            vendors.Emulators.Pushes.Attempts.Any(p => p.Vendor == VendorNames.Yunpian && p.Kind == "status" && p.Acknowledged && p.Body.Contains("UNDELIV", StringComparison.Ordinal)));

        Assert.All(failing, f => Assert.True(f.Inbox.SequenceEqual([VendorNames.Yunpian, VendorNames.Tencent]), $"{f.Mobile}: one SMS from Yunpian and exactly one from Tencent; {seen}"));
        Assert.True(outcome is "Sent" or "Unknown", seen);
    }

    [Fact]
    public async Task A_kill_while_the_failover_vendor_holds_a_resend_never_sends_it_twice_and_loses_no_other()
    {
        // Tencent sends the first failover and never answers: the server dies inside that vendor call.
        var (failing, outcome, seen) = await KillAndRestartAsync(420, HandsetsHaveTencent,
            vendors => vendors.Emulators.Tencent.Faults.FailNextCalls(1, EmulatorFault.AcceptThenTimeout));

        // Not lost: every failed recipient has Tencent's SMS; not sent twice: the interrupted one is found handed over after the restart.
        Assert.All(failing, f => Assert.True(f.Inbox.SequenceEqual([VendorNames.Yunpian, VendorNames.Tencent]), $"{f.Mobile}: one SMS from Yunpian and exactly one from Tencent; {seen}"));
        // In doubt, unless Tencent's delivery report came in time to settle the interrupted one as sent.
        Assert.True(outcome is "Sent" or "Unknown", seen);
    }

    private static bool HandsetsHaveTencent(SandboxVendors vendors) =>
        SandboxSettings.HandsetMessages(vendors.Emulators).Any(m => m.Message.Vendor == VendorNames.Tencent);

    /// <summary>
    /// Runs the campaign (the 20 numbers from <paramref name="first"/>, every fourth reported not delivered), kills the
    /// server the moment <paramref name="killWhen"/> holds, restarts it on the same data and waits for the send to finish.
    /// </summary>
    private async Task<((string Mobile, string[] Inbox)[] Failing, string? Outcome, string Seen)> KillAndRestartAsync(int first, Func<SandboxVendors, bool> killWhen,
        Action<SandboxVendors>? arrange = null)
    {
        // Emulator time runs 20 times faster: the failed reports come 2 s after the send.
        await using var vendors = await SandboxVendors.StartAsync(timeScale: 0.05);
        var mobiles = CampaignReportFailoverTests.Campaign(first);
        var failing = mobiles.Where((_, i) => i % 5 == 2).ToArray();
        foreach (var mobile in failing) vendors.Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV", TimeSpan.FromSeconds(40)));
        arrange?.Invoke(vendors);
        var (instance, restartedOutput) = await KillAndRestart.RunAsync(vendors, ApiKey,
            new Dictionary<string, string?> { ["SmsActivities:MaxResultsInOutputs"] = CampaignReportFailoverTests.OutputsLimit },
            async http =>
            {
                await PublishAsync(http, ReportFailoverTests.Flow("campaign-failover-crash", mobiles, "【SmsSandbox】Your parcel is ready", reportWait: "00:00:40"));
                return await ExecuteAsync(http, "campaign-failover-crash");
            },
            killWhen, () => output.WriteLine($"killed with {Tencent(vendors, failing)} Tencent SMS sent"), TimeSpan.FromSeconds(150), output);

        var inboxes = mobiles.Select(m => (Mobile: m, Inbox: vendors.HandsetInbox(m).Select(x => x.Vendor).ToArray())).ToArray();
        var outcome = instance["workflowState"]!["variables"]?["Outcome"]?.ToString();
        var seen = $"outcome {outcome}, handsets {string.Join("; ", inboxes.Select(i => $"{i.Mobile}: {string.Join(",", i.Inbox)}"))}, "
                   + $"outputs {instance["workflowState"]!["activityOutputs"]?["Send"]?.ToJsonString()}; restarted server's output:{Environment.NewLine}{restartedOutput}";
        output.WriteLine(seen);
        // The recipients reported delivered got Yunpian's SMS only, crash or not.
        Assert.All(inboxes.Where(i => !failing.Contains(i.Mobile)), i => Assert.True(i.Inbox.SequenceEqual([VendorNames.Yunpian]), $"{i.Mobile}; {seen}"));
        return (inboxes.Where(i => failing.Contains(i.Mobile)).ToArray(), outcome, seen);
    }

    private static int Tencent(SandboxVendors vendors, IEnumerable<string> mobiles) =>
        mobiles.Sum(m => vendors.HandsetInbox(m).Count(x => x.Vendor == VendorNames.Tencent));
}
