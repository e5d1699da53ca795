using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SmsActivities.Emulators;
using SmsActivities.Sandbox;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Vendors;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// A campaign's failovers (over <c>SmsActivities:MaxResultsInOutputs</c>, set to 5) called for by failed reports that come
/// in quiet hours: held until the recipients' send window opens, then sent once. On the real server, on a fake clock the
/// emulators share.
/// </summary>
public sealed class CampaignFailoverWindowTests : ServerTest
{
    // 14:00 UTC, inside a 08:00-14:30 UTC window; the failed reports come an hour later, when it is closed until 08:00 tomorrow.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 7, 14, 0, 0, TimeSpan.Zero));

    protected override Task<ServerHost> StartServerAsync() => ServerHost.StartAsync(
        new Dictionary<string, string?> { ["SmsActivities:MaxResultsInOutputs"] = CampaignReportFailoverTests.OutputsLimit },
        s => s.AddSingleton<TimeProvider>(_time));

    private EmulatorSet Emulators => Server.Services.GetRequiredService<EmulatorSet>();

    [Fact]
    public async Task A_campaigns_failovers_called_for_in_quiet_hours_wait_for_the_window_and_go_once_when_it_opens()
    {
        var mobiles = CampaignReportFailoverTests.Campaign(600)[..8];
        var failing = mobiles.Where((_, i) => i % 3 == 0).ToArray();
        foreach (var mobile in failing) Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV", TimeSpan.FromHours(1)));
        var flow = ReportFailoverTests.Flow("campaign-quiet-failover", mobiles, "【SmsSandbox】Your parcel is ready", reportWait: "1.00:00:00");
        var send = flow["root"]!["activities"]!.AsArray().Single(a => (string?)a!["id"] == "Send")!;
        send["sendWindow"] = Lit("08:00-14:30");
        send["timeZone"] = Lit("UTC");
        await PublishAsync(Client, flow);
        var id = await ExecuteAsync(Client, "campaign-quiet-failover");

        _time.Advance(TimeSpan.FromHours(1));
        var held = await WaitForAsync(id, i => Bookmarks(i).Any(b => b!["payload"]?["failoverHeldUntil"] is not null));
        Assert.Equal("2030-01-08T08:00:00.0000000+00:00", (string?)Bookmarks(held).First(b => b!["payload"]?["failoverHeldUntil"] is not null)!["payload"]!["failoverHeldUntil"]);
        await Task.Delay(500); // a failover made at once would have reached Tencent by now
        Assert.True(mobiles.All(m => Inbox(m).SequenceEqual([VendorNames.Yunpian])), "no failover while the window is closed: " + Handsets(mobiles));

        _time.Advance(TimeSpan.FromHours(17)); // 08:00 UTC and a little: the window opens
        var done = await WaitForAsync(id, i => (string?)i["subStatus"] == "Finished");
        var outputs = done["workflowState"]!["activityOutputs"]!["Send"]!.AsObject();
        var seen = $"outcome {done["workflowState"]!["variables"]?["Outcome"]}, outputs {outputs.ToJsonString()}; handsets: {Handsets(mobiles)}";
        foreach (var mobile in mobiles)
        {
            string[] expected = failing.Contains(mobile) ? [VendorNames.Yunpian, VendorNames.Tencent] : [VendorNames.Yunpian];
            Assert.True(Inbox(mobile).SequenceEqual(expected), $"{mobile} got {string.Join(", ", Inbox(mobile))}; {seen}");
        }
        Assert.True(done["workflowState"]!["variables"]?["Outcome"]?.ToString() == "Sent", seen);
        Assert.True(outputs["FailedOverRecipients"]!.AsArray().Select(n => n!.GetValue<string>()).Order().SequenceEqual(failing.Order()), seen);
    }

    private static JsonArray Bookmarks(JsonObject instance) => (JsonArray)instance["workflowState"]!["bookmarks"]!;

    private string[] Inbox(string mobile) => SandboxSettings.HandsetInbox(Emulators, PhoneNumber.Parse(mobile)).Select(m => m.Vendor).ToArray();

    private string Handsets(IEnumerable<string> mobiles) => string.Join("; ", mobiles.Select(m => $"{m}: {string.Join(",", Inbox(m))}"));

    /// <summary>Moves the clock on 100 ms at a time (the reports and the failover's report are due on it) until the instance is as wanted.</summary>
    private async Task<JsonObject> WaitForAsync(string instanceId, Func<JsonObject, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        JsonObject last;
        while (!condition(last = await InstanceAsync(Client, instanceId)))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited 90 s; the instance is {last["subStatus"]}, bookmarks {Bookmarks(last).ToJsonString()}.");
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(100);
        }
        return last;
    }
}
