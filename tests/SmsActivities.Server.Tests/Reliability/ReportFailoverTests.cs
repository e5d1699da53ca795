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
/// SendSms with "Fail over on failed report" on the real server, against the emulators over loopback: Yunpian takes the
/// SMS (or may have: its answer is lost) and then reports it not delivered; Tencent, the failover vendor, sends it once.
/// </summary>
public sealed class ReportFailoverTests : ServerTest
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private EmulatorSet Emulators => Server.Services.GetRequiredService<EmulatorSet>();

    /// <summary>Start → SendSms (Yunpian, failing over to Tencent, waiting for reports) → the outcome into a variable.</summary>
    internal static JsonObject Flow(string definitionId, string mobile, string text, bool otp = false, string reportWait = "00:02:00") =>
        Flow(definitionId, [mobile], text, otp, reportWait);

    internal static JsonObject Flow(string definitionId, IReadOnlyList<string> mobiles, string text, bool otp = false, string reportWait = "00:02:00")
    {
        var send = new JsonObject
        {
            ["vendor"] = Lit(VendorNames.Yunpian), ["failover"] = Lit(VendorNames.Tencent), ["recipients"] = Expr("Object", new JsonArray([.. mobiles.Select(m => (JsonNode)m)]).ToJsonString()),
            ["text"] = Lit(text), ["failoverOnFailedReport"] = new JsonObject { ["typeName"] = "Boolean", ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = true } },
            ["failoverReportTimeout"] = Lit(reportWait),
        };
        if (otp) send["otp"] = new JsonObject { ["typeName"] = "Boolean", ["expression"] = new JsonObject { ["type"] = "Literal", ["value"] = true } };
        string[] outcomes = ["Sent", "PartiallySent", "Failed", "Unknown"];
        return Flowchart(definitionId,
            [
                Act("Start1", "Elsa.Start"),
                Act("Send", "SmsActivities.SendSms", send),
                .. outcomes.Select(o => Act("Said" + o, "Elsa.SetVariable", new JsonObject
                {
                    ["variable"] = new JsonObject { ["id"] = "OutcomeId", ["name"] = "Outcome" }, ["value"] = Lit(o),
                })),
            ],
            [Conn("Start1", "Send"), .. outcomes.Select(o => Conn("Send", "Said" + o, o))], [Variable("Outcome", "String", "")]);
    }

    private async Task<string> StartAsync(string definitionId, string mobile, string text, bool otp = false)
    {
        await PublishAsync(Client, Flow(definitionId, mobile, text, otp));
        return await ExecuteAsync(Client, definitionId);
    }

    private async Task<JsonObject> FinishedAsync(string instanceId)
    {
        var deadline = DateTime.UtcNow + Patience;
        JsonObject last;
        while ((string?)(last = await InstanceAsync(Client, instanceId))["subStatus"] != "Finished")
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the instance is {last["subStatus"]} after {Patience.TotalSeconds:0} s; bookmarks {last["workflowState"]?["bookmarks"]?.ToJsonString()}; handsets: {Handsets()}");
            await Task.Delay(100);
        }
        return last;
    }

    private static string? Outcome(JsonObject instance) => instance["workflowState"]!["variables"]?["Outcome"]?.ToString();

    private static JsonObject SendOutputs(JsonObject instance) => instance["workflowState"]!["activityOutputs"]?["Send"]?.AsObject() ?? [];

    private static string[] List(JsonObject outputs, string name) => (outputs[name] as JsonArray ?? []).Select(n => n!.GetValue<string>()).ToArray();

    private IReadOnlyList<SandboxSettings.HandsetMessage> Inbox(string mobile) => SandboxSettings.HandsetInbox(Emulators, PhoneNumber.Parse(mobile));

    private string Handsets() => string.Join("; ", SandboxSettings.HandsetMessages(Emulators).Select(m => $"{m.E164} got {m.Message.Vendor}"));

    private string Seen(string mobile, JsonObject instance) =>
        $"outcome {Outcome(instance)}, inbox {string.Join(", ", Inbox(mobile).Select(m => m.Vendor))}, outputs {SendOutputs(instance).ToJsonString()}";

    [Fact]
    public async Task A_failed_report_sends_the_recipient_through_the_failover_vendor_once()
    {
        const string mobile = "+8613700000101";
        Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV"));

        var done = await FinishedAsync(await StartAsync("report-failover", mobile, "【SmsSandbox】Your parcel is ready"));

        var seen = Seen(mobile, done);
        Assert.True(Inbox(mobile).Select(m => m.Vendor).SequenceEqual([VendorNames.Yunpian, VendorNames.Tencent]), $"one SMS from each vendor, in order; {seen}");
        Assert.True(Outcome(done) == "Sent", seen);
        var outputs = SendOutputs(done);
        Assert.True(List(outputs, "FailedOverRecipients").SequenceEqual([mobile]) && List(outputs, "UndeliveredRecipients").Length == 0, seen);
        var result = outputs["Results"]![0]!;
        Assert.True(result["vendor"]!.GetValue<string>() == VendorNames.Tencent && result["accepted"]!.GetValue<bool>() && result["messageId"] is not null, seen);

        // The recipient's send record names the vendor that finally took it, with both vendors counted as attempts.
        var factory = Server.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var record = await db.SendRecords.AsNoTracking().SingleAsync(r => r.Mobile == mobile);
        Assert.True(record is { Vendor: VendorNames.Tencent, Status: SendRecordStatus.Accepted, Attempts: 2 }, $"record {record.Vendor} {record.Status} attempts {record.Attempts}; {seen}");
    }

    [Fact]
    public async Task A_delivered_report_completes_the_send_without_a_second_vendor()
    {
        const string mobile = "+8613700000102";

        var done = await FinishedAsync(await StartAsync("report-delivered", mobile, "【SmsSandbox】Your parcel is ready"));

        var seen = Seen(mobile, done);
        Assert.True(Inbox(mobile).Select(m => m.Vendor).SequenceEqual([VendorNames.Yunpian]), $"one SMS, from Yunpian only; {seen}");
        Assert.True(Outcome(done) == "Sent" && List(SendOutputs(done), "FailedOverRecipients").Length == 0, seen);
        Assert.True(SendOutputs(done)["Results"]![0]!["delivered"]?.GetValue<bool>() == true, seen);
    }

    [Fact]
    public async Task A_send_in_doubt_whose_report_then_fails_is_failed_over_once()
    {
        const string mobile = "+8613700000103";
        // Yunpian sends, answers 500 (the send is in doubt, not failed over), then reports the SMS not delivered.
        Emulators.Yunpian.Faults.FailNextCalls(1, EmulatorFault.AcceptThenFail, 500);
        Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV"));

        var done = await FinishedAsync(await StartAsync("in-doubt-failover", mobile, "【SmsSandbox】Your parcel is ready"));

        var seen = Seen(mobile, done);
        Assert.True(Inbox(mobile).Select(m => m.Vendor).SequenceEqual([VendorNames.Yunpian, VendorNames.Tencent]), $"one SMS from each vendor; {seen}");
        Assert.True(Outcome(done) == "Sent" && List(SendOutputs(done), "InDoubtRecipients").Length == 0, seen);
    }

    [Fact]
    public async Task Failed_reports_pushed_many_times_over_fail_over_once()
    {
        const string mobile = "+8613700000104";
        // The report waits for the test: it is pushed only once the SendSms waits, then the same push is repeated at once.
        Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV", TimeSpan.FromSeconds(2)));
        var instanceId = await StartAsync("duplicate-failed-reports", mobile, "【SmsSandbox】Your parcel is ready");

        var push = await SmsActivities.Server.Tests.Samples.SandboxServer.EventuallyAsync("Yunpian's failed report to be pushed", () =>
            Emulators.Pushes.Attempts.FirstOrDefault(p => p.Vendor == VendorNames.Yunpian && p.Kind == "status" && p.Body.Contains(mobile[3..], StringComparison.Ordinal)), Patience);
        using var http = new HttpClient();
        var repeats = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            using var content = new StringContent(push.Body, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded");
            using var response = await http.PostAsync(push.Url, content);
            return response.StatusCode;
        }));
        Assert.All(repeats, s => Assert.Equal(HttpStatusCode.OK, s));

        var done = await FinishedAsync(instanceId);
        await Task.Delay(500); // a second failover, were there one, would have reached the emulator by now
        var seen = Seen(mobile, done);
        Assert.True(Inbox(mobile).Count(m => m.Vendor == VendorNames.Tencent) == 1, $"Tencent should send once after 9 copies of the failed report; {seen}");
        Assert.True(Outcome(done) == "Sent", seen);
    }

    [Fact]
    public async Task Without_a_report_the_send_completes_when_the_report_wait_is_over()
    {
        const string mobile = "+8613700000106";
        Emulators.Yunpian.Script.For(mobile, DeliveryPlan.NeverReport);
        await PublishAsync(Client, Flow("report-wait-over", mobile, "【SmsSandbox】Your parcel is ready", reportWait: "00:00:03"));

        var done = await FinishedAsync(await ExecuteAsync(Client, "report-wait-over"));

        var seen = Seen(mobile, done);
        Assert.True(Inbox(mobile).Select(m => m.Vendor).SequenceEqual([VendorNames.Yunpian]) && Outcome(done) == "Sent", $"accepted and never reported: sent, by Yunpian only; {seen}");
        Assert.True(SendOutputs(done)["Results"]![0]!["delivered"] is null, seen);
    }

    [Fact]
    public async Task Studio_lists_the_failover_settings_and_outputs_of_SendSms()
    {
        var descriptors = JsonNode.Parse(await Client.GetStringAsync("elsa/api/descriptors/activities"))!["items"]!.AsArray();
        var send = descriptors.Single(d => (string?)d!["typeName"] == "SmsActivities.SendSms")!;
        var inputs = send["inputs"]!.AsArray().ToDictionary(i => (string)i!["name"]!, i => i!);
        Assert.True(inputs.TryGetValue("FailoverOnFailedReport", out var flag) && (string?)flag["category"] == "Failover" && (string?)flag["uiHint"] == "checkbox",
            $"inputs: {string.Join(", ", inputs.Keys)}; {flag?.ToJsonString()}");
        Assert.True(inputs.TryGetValue("FailoverReportTimeout", out var wait) && (string?)wait["displayName"] == "Report wait", wait?.ToJsonString());
        var outputs = send["outputs"]!.AsArray().Select(o => (string)o!["name"]!).ToHashSet();
        Assert.True(outputs.IsSupersetOf(["FailedOverRecipients", "UndeliveredRecipients"]), $"outputs: {string.Join(", ", outputs)}");
    }

    [Fact]
    public async Task An_otp_whose_report_fails_is_not_sent_again_and_is_reported_undelivered()
    {
        const string mobile = "+8613700000105";
        Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV"));

        var done = await FinishedAsync(await StartAsync("otp-report-failover", mobile, "【SmsSandbox】Your code is {code}", otp: true));

        var seen = Seen(mobile, done);
        Assert.True(Inbox(mobile).Select(m => m.Vendor).SequenceEqual([VendorNames.Yunpian]), $"the code's text is kept nowhere, so no second vendor sends it; {seen}");
        Assert.True(Outcome(done) == "Failed" && List(SendOutputs(done), "UndeliveredRecipients").SequenceEqual([mobile]), seen);
    }
}
