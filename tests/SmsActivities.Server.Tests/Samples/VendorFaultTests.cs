using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Emulators;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.Tests.Samples;

/// <summary>
/// The sandbox server's own emulator controls (<c>/_emulators/…</c>) driving vendor faults, and what the samples do
/// when a vendor sends the SMS but its answer is lost: the person gets it once, never a second copy from the failover vendor.
/// </summary>
public sealed class VendorFaultTests
{
    private static async Task<JsonNode> SetFaultsAsync(SandboxServer server, string vendor, object faults)
    {
        using var response = await server.Http.PostAsJsonAsync($"_emulators/{vendor}/_faults", faults);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    private static async Task<JsonArray> HandsetInboxAsync(SandboxServer server, string mobile)
    {
        using var inbox = await server.Http.GetAsync($"_emulators/_handset/{Uri.EscapeDataString(mobile)}/messages");
        return JsonNode.Parse(await inbox.Content.ReadAsStringAsync())!.AsArray();
    }

    [Fact]
    public async Task Faults_and_the_request_journal_work_through_the_servers_own_emulator_routes()
    {
        await using var server = await SandboxServer.StartAsync();
        const string mobile = "+8613800138041";
        var set = await SetFaultsAsync(server, "yunpian", new { failNext = 3, status = 503 });
        Assert.Equal(3, set["failNext"]!.GetValue<int>());

        // Yunpian answers 503 to the call and its two retries (it did not take the call): the OTP sample fails over to
        // Tencent, which sends the code.
        var (sent, _) = await server.PostAsync("workflows/otp/send", new { mobile });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var sms = Assert.Single(await HandsetInboxAsync(server, mobile));
        Assert.Equal("tencent", sms!["vendor"]!.GetValue<string>());

        using var journal = await server.Http.GetAsync("_emulators/_requests");
        var requests = JsonNode.Parse(await journal.Content.ReadAsStringAsync())!.AsArray();
        Assert.Contains(requests, r => r!["vendor"]!.GetValue<string>() == "yunpian" && r["path"]!.GetValue<string>().EndsWith("/v2/sms/single_send.json", StringComparison.Ordinal));
        Assert.Contains(requests, r => r!["vendor"]!.GetValue<string>() == "tencent");
        Assert.DoesNotContain(requests, r => r!["path"]!.GetValue<string>().EndsWith("/_faults", StringComparison.Ordinal));
        Assert.Equal(0, (await SetFaultsAsync(server, "yunpian", new { }))["failNext"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_vendor_that_sends_and_then_answers_500_is_not_failed_over_and_the_code_arrives_once_and_verifies()
    {
        await using var server = await SandboxServer.StartAsync();
        const string mobile = "+8613800138042";
        await SetFaultsAsync(server, "yunpian", new { failNext = 1, fault = "AcceptThenFail", status = 500 });

        var (sent, body) = await server.PostAsync("workflows/otp/send", new { mobile });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var verifyUrl = body!["verifyUrl"]!.GetValue<string>();
        var instanceId = SandboxServer.InstanceIdIn(verifyUrl);

        var sms = Assert.Single(await HandsetInboxAsync(server, mobile));
        Assert.Equal("yunpian", sms!["vendor"]!.GetValue<string>());
        Assert.Empty(server.Emulators.Tencent.Sent);
        var state = await server.WaitForInstanceAsync(instanceId, s => s.ActivityOutputs.ContainsKey("SendOtp"), "the send step's outputs");
        Assert.Equal([mobile], state.ActivityOutputs["SendOtp"]["InDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));

        // The code the handset got (the vendor did send it) stays the one that verifies.
        var (valid, validBody) = await server.PostAsync(verifyUrl, new { code = SandboxServer.CodeIn(sms["text"]!.GetValue<string>()) });
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.Equal("Valid", validBody!["result"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_vendor_that_sends_and_then_never_answers_is_not_failed_over()
    {
        await using var server = await SandboxServer.StartAsync(new Dictionary<string, string?> { ["Vendors:Yunpian:AttemptTimeout"] = "00:00:01" });
        const string mobile = "+8613800138043";
        await SetFaultsAsync(server, "yunpian", new { failNext = 1, fault = "AcceptThenTimeout" });

        var (sent, _) = await server.PostAsync("workflows/otp/send", new { mobile });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var sms = Assert.Single(await HandsetInboxAsync(server, mobile));
        Assert.Equal("yunpian", sms!["vendor"]!.GetValue<string>());
        Assert.Empty(server.Emulators.Tencent.Sent);
    }

    [Fact]
    public async Task Under_a_20_percent_rate_of_lost_answers_every_handset_gets_exactly_one_code()
    {
        // Thirty codes from one test client: above the default per-address hourly limit (20), which is not under test here.
        await using var server = await SandboxServer.StartAsync(new Dictionary<string, string?> { ["SmsActivities:Otp:MaxSendsPerIpPerHour"] = "1000" });
        var set = await SetFaultsAsync(server, "yunpian", new { rate = 0.2, fault = "AcceptThenFail", status = 500, seed = 7 });
        Assert.Equal(("AcceptThenFail", 0.2), (set["fault"]!.GetValue<string>(), set["rate"]!.GetValue<double>()));

        var mobiles = Enumerable.Range(0, 30).Select(i => $"+86138001381{i:D2}").ToArray();
        foreach (var mobile in mobiles)
        {
            var (sent, _) = await server.PostAsync("workflows/otp/send", new { mobile });
            Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        }

        var received = new Dictionary<string, int>();
        foreach (var mobile in mobiles) received[mobile] = (await HandsetInboxAsync(server, mobile)).Count;
        Assert.All(received, r => Assert.Equal(1, r.Value));
        Assert.Empty(server.Emulators.Tencent.Sent);
        // The rate did fire (the seed makes the draws repeatable).
        var outputs = await Task.WhenAll((await server.Instances.ListAsync(new WorkflowInstanceQuery { DefinitionIds = ["otp-sms"] })).Items
            .Select(i => server.Instances.GetStateAsync(i.Id)));
        Assert.Contains(outputs, s => s!.ActivityOutputs.TryGetValue("SendOtp", out var o) && o["InDoubtRecipients"]!.AsArray().Count == 1);
    }

    /// <summary>
    /// A campaign of 5 over an outputs limit of 3 whose vendor sent every message and then answered 500, with no report
    /// ever coming: the sample's status and summary count all 5 in doubt, although the activities' lists of them are
    /// left empty over the limit (before InDoubtCount the sample counted that list and said 0).
    /// </summary>
    [Theory]
    [MemberData(nameof(SampleWorkflowTests.Flavours), MemberType = typeof(SampleWorkflowTests))]
    public async Task A_campaigns_summary_counts_every_recipient_in_doubt_when_there_are_more_than_the_outputs_limit(string flavour)
    {
        await using var server = await SandboxServer.StartAsync(new Dictionary<string, string?> { ["SmsActivities:MaxResultsInOutputs"] = "3" });
        var recipients = Enumerable.Range(0, 5).Select(i => $"+86138001382{i:D2}").ToArray();
        foreach (var mobile in recipients) server.Emulators.Yunpian.Script.For(mobile, DeliveryPlan.NeverReport);
        await SetFaultsAsync(server, "yunpian", new { failNext = 1, fault = "AcceptThenFail", status = 500 });

        var (accepted, body) = await server.PostAsync($"workflows/{flavour}campaign", new { recipients, text = "Spring sale: 20% off this weekend." });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var statusUrl = body!["statusUrl"]!.GetValue<string>();

        // While the reports are awaited the status counts them from the send.
        var waiting = await StatusWhenAsync(server, statusUrl, "waiting for delivery reports");
        Assert.True(waiting["summary"]!["inDoubt"]?.GetValueKind() == JsonValueKind.Number && waiting["summary"]!["inDoubt"]!.GetValue<int>() == 5,
            $"while waiting: {waiting.ToJsonString()}");
        Assert.Equal(recipients, server.Emulators.Yunpian.Sent.Select(m => m.E164).Order());
        Assert.Empty(server.Emulators.Tencent.Sent);

        // No report comes: the wait times out, and the summary counts them from the wait.
        server.Time.Advance(TimeSpan.FromMinutes(31));
        var finished = await StatusWhenAsync(server, statusUrl, "finished");
        var summary = finished["summary"]!;
        Assert.True(summary["inDoubt"]?.GetValueKind() == JsonValueKind.Number && summary["inDoubt"]!.GetValue<int>() == 5, $"finished: {finished.ToJsonString()}");
        Assert.True(summary["sent"]!.GetValue<int>() == 0 && summary["firstRound"]!["pending"]!.GetValue<int>() == 5, $"finished: {finished.ToJsonString()}");
    }

    private static Task<JsonNode> StatusWhenAsync(SandboxServer server, string statusUrl, string wanted) =>
        SandboxServer.EventuallyAsync($"the campaign's status to say {wanted}", async () =>
        {
            using var response = await server.Http.GetAsync(statusUrl.TrimStart('/'));
            var answer = response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
            return answer?["status"]?.GetValue<string>() == wanted ? answer : null;
        });
}
