using SmsActivities.Emulators;
using SmsActivities.Sandbox;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Vendors;
using Xunit.Abstractions;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// The server as a real process, killed with SIGKILL while a failover called for by Yunpian's failed delivery report is
/// under way, then started again on the same data. The vendor emulators run in the test process, so they remember what
/// they sent across the crash.
/// </summary>
public sealed class ReportFailoverCrashTests(ITestOutputHelper output)
{
    private const string ApiKey = "report-failover-crash-test-key";

    [Fact]
    public async Task A_kill_after_the_failed_report_is_acknowledged_fails_over_exactly_once_after_the_restart()
    {
        // Spin (no timer granularity) until the failed report's push is acknowledged, and kill at once: the failover it
        // calls for runs after the acknowledgement, in the server's dispatcher.
        var (inbox, outcome, tencentAtKill, seen) = await KillAndRestartAsync("+8613700000201", vendors =>
            vendors.Emulators.Pushes.Attempts.Any(p => p.Vendor == VendorNames.Yunpian && p.Kind == "status" && p.Acknowledged));

        Assert.True(inbox.SequenceEqual([VendorNames.Yunpian, VendorNames.Tencent]), $"one SMS from Yunpian and exactly one from Tencent; {seen}");
        // Sent, or (had the kill come inside Tencent's call, which the spin makes unlikely) in doubt: never a second send.
        Assert.True(outcome == "Sent" || (tencentAtKill == 1 && outcome == "Unknown"), seen);
    }

    [Fact]
    public async Task A_kill_while_the_failover_vendor_holds_the_resend_leaves_it_in_doubt_or_settled_by_its_report_and_never_sends_it_twice()
    {
        const string mobile = "+8613700000202";
        // Tencent sends the SMS and never answers: the server dies inside the failover's vendor call.
        var (inbox, outcome, tencentAtKill, seen) = await KillAndRestartAsync(mobile, vendors => vendors.HandsetInbox(mobile).Any(m => m.Vendor == VendorNames.Tencent),
            vendors => vendors.Emulators.Tencent.Faults.FailNextCalls(1, EmulatorFault.AcceptThenTimeout));

        Assert.Equal(1, tencentAtKill);
        // Not lost: the handset has it; not sent twice: the restarted server finds the failover begun and does not repeat it.
        Assert.True(inbox.SequenceEqual([VendorNames.Yunpian, VendorNames.Tencent]), $"one SMS from Yunpian and exactly one from Tencent; {seen}");
        // In doubt; or, when Tencent's delivery report of the held SMS reached the restarted server before the step
        // finished, settled by that report (a report naming the number settles its in-doubt send) and so Sent.
        Assert.True(outcome == "Unknown" && seen.Contains("interrupted inside the vendor call", StringComparison.Ordinal)
                    || outcome == "Sent" && seen.Contains("\"vendor\":\"tencent\",\"accepted\":true", StringComparison.Ordinal),
            $"the recipient is reported in doubt, or sent as Tencent's report settled it; {seen}");
    }

    /// <summary>
    /// Runs the report-failover flow for <paramref name="mobile"/> (Yunpian reports it not delivered), kills the server the
    /// moment <paramref name="killWhen"/> holds, restarts it on the same data and waits for the send to finish.
    /// <paramref name="arrange"/> sets the emulators' faults before the send.
    /// </summary>
    private async Task<(string[] Inbox, string? Outcome, int TencentAtKill, string Seen)> KillAndRestartAsync(string mobile, Func<SandboxVendors, bool> killWhen,
        Action<SandboxVendors>? arrange = null)
    {
        // Emulator time runs 20 times faster: the report comes 2 s after the send, an unacknowledged push is retried within 15 s.
        await using var vendors = await SandboxVendors.StartAsync(timeScale: 0.05);
        vendors.Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV", TimeSpan.FromSeconds(40)));
        arrange?.Invoke(vendors);
        var tencentAtKill = 0;
        var (instance, restartedOutput) = await KillAndRestart.RunAsync(vendors, ApiKey, new Dictionary<string, string?>(),
            async http =>
            {
                await PublishAsync(http, ReportFailoverTests.Flow("report-failover-crash", mobile, "【SmsSandbox】Your parcel is ready"));
                return await ExecuteAsync(http, "report-failover-crash");
            },
            killWhen, () => tencentAtKill = vendors.HandsetInbox(mobile).Count(m => m.Vendor == VendorNames.Tencent), TimeSpan.FromSeconds(120), output);

        var inbox = vendors.HandsetInbox(mobile).Select(m => m.Vendor).ToArray();
        var outcome = instance["workflowState"]!["variables"]?["Outcome"]?.ToString();
        var seen = $"inbox {string.Join(", ", inbox)}, {tencentAtKill} Tencent SMS at the kill, outcome {outcome}, "
                   + $"outputs {instance["workflowState"]!["activityOutputs"]?["Send"]?.ToJsonString()}; restarted server's output:{Environment.NewLine}{restartedOutput}";
        output.WriteLine(seen);
        return (inbox, outcome, tencentAtKill, seen);
    }
}
