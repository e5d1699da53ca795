using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Parity;

/// <summary>SendSms's send window (quiet hours) through the server, on a fake clock: held by a durable timer, sent when it opens.</summary>
public sealed class SendWindowTests : ServerTest
{
    // 22:00 in Shanghai on a Monday: after its 08:00-21:00 window, which opens again at 08:00 (00:00 UTC) on Tuesday.
    private static readonly DateTimeOffset Evening = new(2030, 1, 7, 14, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Evening);
    protected override Task<ServerHost> StartServerAsync() => ServerHost.StartAsync(configureServices: s => s.AddSingleton<TimeProvider>(_time));

    internal static JsonObject Flow(string definitionId, string recipient, string window, string timeZone) => Flow(definitionId, [recipient], window, timeZone);

    internal static JsonObject Flow(string definitionId, string[] recipients, string window, string timeZone) => Flowchart(definitionId,
        [
            Act("Start1", "Elsa.Start"),
            Act("Send", "SmsActivities.SendSms", new JsonObject
            {
                ["recipients"] = Expr("Object", new JsonArray([.. recipients.Select(r => (JsonNode)r)]).ToJsonString()), ["text"] = Lit("Your parcel is on its way"),
                ["sendWindow"] = Lit(window), ["timeZone"] = Lit(timeZone),
            }),
            Act("Said", "Elsa.SetVariable", new JsonObject
            {
                ["variable"] = new JsonObject { ["id"] = "OutcomeId", ["name"] = "Outcome" },
                ["value"] = Js("'sent ' + getOutputFrom('Send', 'SentCount') + ' held until ' + getOutputFrom('Send', 'HeldUntil')"),
            }),
            Act("Refused", "Elsa.SetVariable", new JsonObject
            {
                ["variable"] = new JsonObject { ["id"] = "OutcomeId", ["name"] = "Outcome" }, ["value"] = Js("'failed: ' + getOutputFrom('Send', 'Error')"),
            }),
        ],
        [Conn("Start1", "Send"), Conn("Send", "Said", "Sent"), Conn("Send", "Refused", "Failed")], [Variable("Outcome", "String", "")]);

    private static string? Outcome(JsonObject instance) => instance["workflowState"]!["variables"]?["Outcome"]?.ToString();

    private async Task<JsonObject> RunAsync(JsonObject flow)
    {
        await PublishAsync(Client, flow);
        return await InstanceAsync(Client, await ExecuteAsync(Client, (string)flow["definitionId"]!));
    }

    [Fact]
    public async Task A_send_outside_its_window_waits_on_a_durable_timer_and_goes_out_when_the_window_opens()
    {
        var instance = await RunAsync(Flow("quiet-hours", "+8613800138001", "08:00-21:00", ""));
        Assert.True((string?)instance["subStatus"] == "Suspended", $"at 22:00 Shanghai time the send should wait; instance: {instance["subStatus"]}, outcome: {Outcome(instance)}");
        var bookmark = Assert.Single(instance["workflowState"]!["bookmarks"]!.AsArray());
        // The number's country gives the zone: 08:00 in Shanghai is 00:00 UTC.
        Assert.Equal("2030-01-08T00:00:00.0000000+00:00", (string?)bookmark!["payload"]!["heldUntil"]);
        var id = (string)instance["id"]!;

        _time.Advance(TimeSpan.FromHours(9) + TimeSpan.FromMinutes(59)); // 07:59 in Shanghai: still closed
        await Task.Delay(300);
        Assert.Equal("Suspended", (string?)(await InstanceAsync(Client, id))["subStatus"]);

        _time.Advance(TimeSpan.FromMinutes(2)); // 08:01
        var done = await WaitForAsync(id, i => (string?)i["subStatus"] == "Finished");
        Assert.StartsWith("sent 1 held until 2030-01-08", Outcome(done));
    }

    [Fact]
    public async Task A_send_inside_its_window_goes_out_at_once_in_the_given_time_zone()
    {
        // 14:00 UTC is 09:00 in New York: inside its window, whatever the (Chinese) number's own zone says.
        var instance = await RunAsync(Flow("open-window", "+8613800138002", "08:00-21:00", "America/New_York"));
        Assert.True((string?)instance["subStatus"] == "Finished", $"instance: {instance["subStatus"]}, outcome: {Outcome(instance)}");
        Assert.Equal("sent 1 held until null", Outcome(instance));
    }

    [Fact]
    public async Task Recipients_in_different_zones_are_each_sent_when_their_own_window_opens()
    {
        const string london = "+447911123456", shanghai = "+8613800138004";
        // 14:00 UTC: 14:00 in London (open), 22:00 in Shanghai (closed until 08:00 there, 00:00 UTC).
        var instance = await RunAsync(Flow("split-zones", [shanghai, london], "08:00-21:00", ""));
        var id = (string)instance["id"]!;
        Assert.True((string?)instance["subStatus"] == "Suspended", $"the Shanghai recipient should wait; instance: {instance["subStatus"]}, outcome: {Outcome(instance)}");
        var bookmark = Assert.Single(instance["workflowState"]!["bookmarks"]!.AsArray());
        Assert.Equal("2030-01-08T00:00:00.0000000+00:00", (string?)bookmark!["payload"]!["heldUntil"]);
        var early = await RecordsAsync(id);
        Assert.True(early.Count == 1 && early[0].Mobile == london && early[0].At == Evening,
            "only London is sent at 14:00 UTC; records: " + string.Join("; ", early));

        _time.Advance(TimeSpan.FromHours(10) + TimeSpan.FromMinutes(1)); // 08:01 in Shanghai, 00:01 in London
        var done = await WaitForAsync(id, i => (string?)i["subStatus"] == "Finished");
        Assert.StartsWith("sent 2 held until 2030-01-08T00:00:00", Outcome(done));
        var all = await RecordsAsync(id);
        Assert.True(all.Count == 2 && all.Count(r => r.Mobile == london) == 1 && all.Single(r => r.Mobile == shanghai).At == Evening.AddHours(10).AddMinutes(1),
            "each recipient is sent once, Shanghai at 08:01 local; records: " + string.Join("; ", all));
        var groups = Prop(Prop(done["workflowState"]!["activityOutputs"], "Send"), "Groups")?.AsArray();
        Assert.True(groups?.Count == 2 && groups.All(g => (int?)Prop(g, "SentCount") == 1 && Prop(g, "SentAt") != null),
            "two time zone groups, each sent: " + groups?.ToJsonString());
    }

    [Fact]
    public async Task A_zone_group_whose_recipients_opted_out_is_not_held_again_while_the_others_wait()
    {
        const string london = "+447911123457", shanghai = "+8613800138005";
        await Server.Services.GetRequiredService<SmsActivities.OptOut.OptOutList>().AddAsync(london, "test", null);
        var instance = await RunAsync(Flow("split-opted-out", [shanghai, london], "08:00-21:00", ""));
        var id = (string)instance["id"]!;
        Assert.True((string?)instance["subStatus"] == "Suspended", $"instance: {instance["subStatus"]}, outcome: {Outcome(instance)}");
        _time.Advance(TimeSpan.FromHours(10) + TimeSpan.FromMinutes(1));
        var done = await WaitForAsync(id, i => (string?)i["subStatus"] == "Finished");
        var send = Prop(done["workflowState"]!["activityOutputs"], "Send");
        Assert.True((int?)Prop(send, "SentCount") == 1 && (int?)Prop(send, "OptedOutCount") == 1, "outputs: " + send?.ToJsonString());
        Assert.Equal([shanghai], (await RecordsAsync(id)).Select(r => r.Mobile));
    }

    [Fact]
    public async Task A_wait_after_a_send_split_by_zone_counts_every_group_and_completes_once()
    {
        const string london = "+447911123458", tokyo = "+819012345679", shanghai1 = "+8613800138007", shanghai2 = "+8613800138008";
        // 14:00 UTC: open in London; Tokyo opens at 23:00 UTC, Shanghai at 00:00 UTC. Each report comes when the fake
        // clock next moves after its send (the emulators' report delay runs on the server's clock).
        var flow = Flow("split-then-wait", [london, tokyo, shanghai1, shanghai2], "08:00-21:00", "");
        var activities = flow["root"]!["activities"]!.AsArray();
        activities.Add(Act("Wait", "SmsActivities.WaitForDeliveryReport", new JsonObject { ["sendSmsActivityId"] = Lit("Send") }));
        activities.Add(Act("Counted", "Elsa.SetVariable", new JsonObject
        {
            ["variable"] = new JsonObject { ["id"] = "TallyId", ["name"] = "Tally" },
            ["value"] = Js("JSON.stringify(getOutputFrom('Wait', 'Tally'))"),
        }));
        var connections = flow["root"]!["connections"]!.AsArray();
        connections.Clear();
        foreach (var c in new[] { Conn("Start1", "Send"), Conn("Send", "Wait", "Sent"), Conn("Wait", "Counted", "Delivered"), Conn("Wait", "Counted", "Failed"), Conn("Wait", "Counted", "Timeout") })
            connections.Add(c);
        flow["variables"]!.AsArray().Add(Variable("Tally", "String", ""));
        var instance = await RunAsync(flow);
        var id = (string)instance["id"]!;
        Assert.True((string?)instance["subStatus"] == "Suspended", $"Tokyo and Shanghai should be held; instance: {instance["subStatus"]}, outcome: {Outcome(instance)}");

        await ReportedAsync(id, [london]); // reported while the send still holds the others: the wait has not begun
        _time.Advance(TimeSpan.FromHours(9) + TimeSpan.FromSeconds(29)); // 23:00:30 UTC, 08:00:30 in Tokyo
        await WaitUntilAsync(async () => (await RecordsAsync(id)).Any(r => r.Mobile == tokyo), "Tokyo's group to be sent");
        await ReportedAsync(id, [london, tokyo]);
        Assert.Equal("Suspended", (string?)(await InstanceAsync(Client, id))["subStatus"]);

        _time.Advance(TimeSpan.FromHours(1)); // 00:00:31 UTC, 08:00:31 in Shanghai: the last group goes, the send completes, the wait begins
        // London's and Tokyo's reports, kept in the inbox while no wait existed, resume the new wait once more; it runs and
        // suspends again. So wait for it suspended on its bookmark, then check that it stays so while the clock stands still.
        await WaitForAsync(id, i => (string?)i["subStatus"] == "Suspended" && ((JsonArray)i["workflowState"]!["bookmarks"]!).Any(b => (string?)b!["activityId"] == "Wait"));
        await Task.Delay(500);
        var waiting = await InstanceAsync(Client, id);
        Assert.True((string?)waiting["subStatus"] == "Suspended", $"Shanghai's reports have not come yet: the wait waits for them; instance: {waiting["subStatus"]}");
        _time.Advance(TimeSpan.FromSeconds(1));
        var done = await WaitForAsync(id, i => (string?)i["subStatus"] == "Finished");

        var tally = JsonNode.Parse(done["workflowState"]!["variables"]?["Tally"]?.ToString() is { Length: > 0 } text ? text : "null");
        Assert.True((int?)Prop(tally, "Total") == 4 && (int?)Prop(tally, "Delivered") == 4 && (int?)Prop(tally, "Pending") == 0,
            "the wait counts the recipients of every group, once: " + done["workflowState"]!["variables"]!["Tally"]);
        var runs = await ExecutionCountsAsync(Client, id);
        Assert.True(runs.GetValueOrDefault("Wait") == 1 && runs.GetValueOrDefault("Counted") == 1, "ran: " + string.Join(", ", runs.Select(r => $"{r.Key}={r.Value}")));
        var records = await RecordsAsync(id);
        Assert.True(records.Count == 4 && records.Select(r => r.Mobile).Distinct().Count() == 4, "each recipient sent once: " + string.Join("; ", records));
        // Three groups, each under the step's key and its own group: {key}-z{8 hex}.
        var keys = records.Select(r => r.Key).Distinct().ToList();
        Assert.True(keys.Count == 3 && keys.All(k => System.Text.RegularExpressions.Regex.IsMatch(k ?? "", "-z[0-9a-f]{8}$")), "group keys: " + string.Join(", ", keys));
    }

    [Fact]
    public async Task A_campaign_scheduled_by_cron_goes_out_at_its_time_and_within_each_recipients_window()
    {
        const string london = "+447911123459", shanghai = "+8613800138009";
        var flow = Flow("scheduled-campaign", [london, shanghai], "08:00-21:00", "");
        var activities = flow["root"]!["activities"]!.AsArray();
        activities[0] = Act("Start1", "Elsa.Cron", new JsonObject { ["cronExpression"] = Lit("0 15 * * *") }, new JsonObject { ["canStartWorkflow"] = true });
        await PublishAsync(Client, flow);
        _time.Advance(TimeSpan.FromSeconds(2)); // one scheduler pass sees the trigger and plans 15:00 UTC
        await Task.Delay(1000);

        _time.Advance(TimeSpan.FromMinutes(61)); // 15:01 UTC: 15:01 in London, 23:01 in Shanghai
        string? id = null;
        await WaitUntilAsync(async () => (id = await FirstInstanceAsync("scheduled-campaign")) != null, "the cron trigger to start the campaign");
        await WaitUntilAsync(async () => (await RecordsAsync(id!)).Count == 1, "London's send");
        var early = Assert.Single(await RecordsAsync(id!));
        Assert.True(early.Mobile == london && early.At >= Evening.AddHours(1), $"London is sent once the cron fires at 15:00 UTC: {early}");

        _time.Advance(TimeSpan.FromHours(9)); // 00:01 UTC, 08:01 in Shanghai
        var done = await WaitForAsync(id!, i => (string?)i["subStatus"] == "Finished");
        Assert.StartsWith("sent 2 held until", Outcome(done));
        var late = (await RecordsAsync(id!)).Single(r => r.Mobile == shanghai);
        Assert.True(late.At >= Evening.AddHours(10), $"Shanghai is sent once its window opens at 00:00 UTC: {late}");
    }

    [Fact]
    public async Task A_failover_called_for_by_a_failed_report_in_quiet_hours_waits_for_the_recipients_window()
    {
        const string mobile = "+8613800138011";
        var emulators = Server.Services.GetRequiredService<SmsActivities.Emulators.EmulatorSet>();
        // Sent at 14:00 UTC inside a 08:00-14:30 UTC window; Yunpian reports it not delivered an hour later, when the window is closed.
        emulators.Yunpian.Script.For(mobile, SmsActivities.Emulators.DeliveryPlan.Fail("UNDELIV", TimeSpan.FromHours(1)));
        var flow = SmsActivities.Server.Tests.Reliability.ReportFailoverTests.Flow("quiet-failover", mobile, "【SmsSandbox】Your parcel is ready", reportWait: "1.00:00:00");
        var send = flow["root"]!["activities"]!.AsArray().Single(a => (string?)a!["id"] == "Send")!;
        send["sendWindow"] = Lit("08:00-14:30");
        send["timeZone"] = Lit("UTC");
        var instance = await RunAsync(flow);
        var id = (string)instance["id"]!;
        string[] Vendors() => SmsActivities.Sandbox.SandboxSettings.HandsetInbox(emulators, SmsActivities.Vendors.PhoneNumber.Parse(mobile)).Select(m => m.Vendor).ToArray();
        Assert.Equal([SmsActivities.Vendors.VendorNames.Yunpian], Vendors());

        _time.Advance(TimeSpan.FromHours(1));
        var held = await WaitForAsync(id, i =>
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            return ((JsonArray)i["workflowState"]!["bookmarks"]!).Any(b => b!["payload"]?["failoverHeldUntil"] is not null);
        });
        var bookmark = ((JsonArray)held["workflowState"]!["bookmarks"]!).First(b => b!["payload"]?["failoverHeldUntil"] is not null)!;
        Assert.Equal("2030-01-08T08:00:00.0000000+00:00", (string?)bookmark["payload"]!["failoverHeldUntil"]);
        await Task.Delay(500); // a failover made at once would have reached Tencent by now
        Assert.True(Vendors().SequenceEqual([SmsActivities.Vendors.VendorNames.Yunpian]), "no failover while the window is closed: " + string.Join(", ", Vendors()));

        _time.Advance(TimeSpan.FromHours(17)); // 08:00 UTC and a little: the window opens
        var done = await WaitForAsync(id, i => (string?)i["subStatus"] == "Finished");
        Assert.True(Vendors().SequenceEqual([SmsActivities.Vendors.VendorNames.Yunpian, SmsActivities.Vendors.VendorNames.Tencent]), "failed over once when the window opened: " + string.Join(", ", Vendors()));
        var outputs = Prop(done["workflowState"]!["activityOutputs"], "Send");
        Assert.True((string?)done["workflowState"]!["variables"]?["Outcome"]?.ToString() == "Sent" && Prop(outputs, "FailedOverRecipients")?.AsArray().Count == 1,
            "outputs: " + outputs?.ToJsonString());
    }

    private async Task<string?> FirstInstanceAsync(string definitionId)
    {
        using var response = await Client.PostAsync("elsa/api/workflow-instances",
            new StringContent($$"""{"definitionId":"{{definitionId}}","page":0,"pageSize":5}""", System.Text.Encoding.UTF8, "application/json"));
        var items = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["items"]!.AsArray();
        return (string?)items.FirstOrDefault(i => (string?)i!["definitionId"] == definitionId)?["id"];
    }

    /// <summary>Moves the clock on, 100 ms at a time, until every given number's report has been received.</summary>
    private async Task ReportedAsync(string instanceId, string[] mobiles) => await WaitUntilAsync(async () =>
    {
        _time.Advance(TimeSpan.FromMilliseconds(100));
        var factory = Server.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<SmsActivities.Persistence.SmsActivitiesDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var reported = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(
            db.SendRecords.Where(r => r.InstanceId == instanceId && db.DeliveryReports.Any(d => d.Vendor == r.Vendor && d.MessageId == r.MessageId)).Select(r => r.Mobile));
        return mobiles.All(reported.Contains);
    }, "the reports of " + string.Join(", ", mobiles));

    /// <summary>A property of a JSON object whatever the casing of its name (outputs keep their C# names, records are camel-cased).</summary>
    private static JsonNode? Prop(JsonNode? node, string name) =>
        (node as JsonObject)?.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    private async Task<List<(string Mobile, string Status, DateTimeOffset At, string? Key)>> RecordsAsync(string instanceId)
    {
        var factory = Server.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<SmsActivities.Persistence.SmsActivitiesDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var rows = await Microsoft.EntityFrameworkCore.EntityFrameworkQueryableExtensions.ToListAsync(db.SendRecords.Where(r => r.InstanceId == instanceId));
        return rows.Select(r => (r.Mobile, r.Status.ToString(), new DateTimeOffset(r.CreatedAtTicks, TimeSpan.Zero), r.IdempotencyKey)).ToList();
    }

    [Theory]
    [InlineData("8am to 9pm", "", "sendWindow: expected the local opening and closing times as HH:mm-HH:mm")]
    [InlineData("09:00-09:00", "", "sendWindow: the window opens and closes at the same time")]
    [InlineData("08:00-21:00", "Mars/Olympus", "timeZone: 'Mars/Olympus' is not a known IANA time zone")]
    public async Task A_bad_window_or_zone_is_refused_naming_the_field_and_the_rule(string window, string zone, string error)
    {
        var instance = await RunAsync(Flow("bad-window-" + Guid.NewGuid().ToString("N")[..6], "+8613800138003", window, zone));
        Assert.True((string?)instance["subStatus"] == "Finished", $"instance: {instance["subStatus"]}");
        Assert.StartsWith("failed: " + error, Outcome(instance));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Waited 60 s for " + what);
            await Task.Delay(100);
        }
    }

    private async Task<JsonObject> WaitForAsync(string instanceId, Func<JsonObject, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonObject last;
        while (!condition(last = await InstanceAsync(Client, instanceId)))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited 60 s; the instance is {last["subStatus"]}, outcome: {Outcome(last)}.");
            await Task.Delay(100);
        }
        return last;
    }
}
