using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SmsActivities.Emulators;
using SmsActivities.Persistence;
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
        var id = await RunCampaignFailingInQuietHoursAsync("campaign-quiet-failover", mobiles, failing);

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

    [Fact]
    public async Task Failovers_held_by_the_window_go_in_calls_of_the_failover_vendors_batch_size_each_recipient_once()
    {
        // 210 of 250 reported not delivered in quiet hours: Tencent takes 200 numbers a call, so two calls when the window opens.
        var mobiles = Enumerable.Range(2000, 250).Select(i => $"+86137000{i:D5}").ToArray();
        var failing = mobiles[..210];
        var id = await RunCampaignFailingInQuietHoursAsync("campaign-batched-failover", mobiles, failing);

        _time.Advance(TimeSpan.FromHours(1));
        await WaitForAsync(id, i => Bookmarks(i).Any(b => b!["payload"]?["failoverHeldUntil"] is not null));
        // Every failed report stored and its resume of the wait run (each holds its failover) before the window opens: a
        // report resuming the wait after the opening fails over its own recipient at once, alone.
        var runtime = Path.Combine(Server.DataDirectory, "smsactivities.db");
        await ServerProcess.EventuallyAsync(async () => await FailedReportsAsync() == failing.Length
                && Convert.ToInt64(await SqliteFile.ScalarAsync(runtime, "SELECT COUNT(*) FROM StimulusDeliveries"), System.Globalization.CultureInfo.InvariantCulture) == 0,
            TimeSpan.FromSeconds(120), "every failed report to be stored and to have resumed the wait");
        Assert.Empty(TencentSends());

        _time.Advance(TimeSpan.FromHours(17)); // the window opens
        var done = await WaitForAsync(id, i => (string?)i["subStatus"] == "Finished");
        var seen = $"outcome {done["workflowState"]!["variables"]?["Outcome"]}; Tencent's calls: {string.Join(", ", TencentSends().Select(r => $"{r.Path} ({r.Body.Split("mobile").Length - 1} numbers)"))}";
        Assert.True(TencentSends().Length == 2 && TencentSends().All(r => r.Path.Contains("sendmultisms", StringComparison.Ordinal)), seen);
        foreach (var mobile in mobiles)
        {
            string[] expected = failing.Contains(mobile) ? [VendorNames.Yunpian, VendorNames.Tencent] : [VendorNames.Yunpian];
            Assert.True(Inbox(mobile).SequenceEqual(expected), $"{mobile} got {string.Join(", ", Inbox(mobile))}; {seen}");
        }
        Assert.True(done["workflowState"]!["variables"]?["Outcome"]?.ToString() == "Sent", seen);
    }

    private RecordedRequest[] TencentSends() =>
        Emulators.Requests.For(VendorNames.Tencent).Where(r => r.Path.Contains("send", StringComparison.Ordinal)).ToArray();

    private async Task<int> FailedReportsAsync()
    {
        await using var db = await Server.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>().CreateDbContextAsync();
        return await db.DeliveryReports.CountAsync(r => r.Status == "Failed");
    }

    /// <summary>Runs a campaign with an 08:00-14:30 UTC send window whose <paramref name="failing"/> recipients Yunpian reports not delivered an hour on.</summary>
    private async Task<string> RunCampaignFailingInQuietHoursAsync(string name, string[] mobiles, string[] failing)
    {
        foreach (var mobile in failing) Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV", TimeSpan.FromHours(1)));
        var flow = ReportFailoverTests.Flow(name, mobiles, "【SmsSandbox】Your parcel is ready", reportWait: "1.00:00:00");
        var send = flow["root"]!["activities"]!.AsArray().Single(a => (string?)a!["id"] == "Send")!;
        send["sendWindow"] = Lit("08:00-14:30");
        send["timeZone"] = Lit("UTC");
        await PublishAsync(Client, flow);
        return await ExecuteAsync(Client, name);
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
