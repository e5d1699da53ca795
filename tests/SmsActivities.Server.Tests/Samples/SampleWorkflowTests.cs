using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Emulators;
using SmsActivities.OptOut;
using SmsActivities.Workflows.Execution;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.Tests.Samples;

/// <summary>
/// Every sample workflow, JSON and C#, end to end through the running sandbox server: HTTP in → the plug-in calls the
/// vendor emulator over loopback → the emulator pushes reports and replies to the server's webhooks → the workflow
/// resumes → HTTP out and the instance finished. Codes are read from what the emulated handset received. On SQLite
/// here; <see cref="PostgresSampleWorkflowTests"/> runs the same tests on PostgreSQL.
/// </summary>
public class SampleWorkflowTests
{
    /// <summary>"" for the JSON samples, "code/" for their code-first twins.</summary>
    public static TheoryData<string> Flavours => new() { "", "code/" };

    /// <summary>A new server for one test, on the database this class tests.</summary>
    protected virtual Task<SandboxServer> StartServerAsync(IReadOnlyDictionary<string, string?>? settings = null) => SandboxServer.StartAsync(settings);

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Otp_sms_sends_a_code_that_only_verifies_when_typed_correctly(string flavour)
    {
        await using var server = await StartServerAsync();
        const string mobile = "+8613800138001";

        var (sent, body) = await server.PostAsync($"workflows/{flavour}otp/send", new { mobile });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var verifyUrl = body!["verifyUrl"]!.GetValue<string>();
        var instanceId = SandboxServer.InstanceIdIn(verifyUrl);

        // Read off the emulated handset over HTTP, as a sandbox user does.
        using var inbox = await server.Http.GetAsync($"_emulators/_handset/{Uri.EscapeDataString(mobile)}/messages");
        var sms = Assert.Single(JsonNode.Parse(await inbox.Content.ReadAsStringAsync())!.AsArray());
        Assert.Equal("yunpian", sms!["vendor"]!.GetValue<string>());
        var code = SandboxServer.CodeIn(sms["text"]!.GetValue<string>());
        var wrong = code == "000000" ? "111111" : "000000";

        var (invalid, invalidBody) = await server.PostAsync(verifyUrl, new { code = wrong });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("Invalid", invalidBody!["result"]!.GetValue<string>());

        var (valid, validBody) = await server.PostAsync(verifyUrl, new { code });
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.Equal("Valid", validBody!["result"]!.GetValue<string>());

        var state = await server.WaitForInstanceAsync(instanceId, s => s.SubStatus == WorkflowSubStatus.Finished, "the OTP workflow to finish");
        // The issued code exists only in the message: not in the send step's inputs, outputs or the journal.
        var sendRecords = JsonSerializer.Serialize(await server.Instances.GetActivityExecutionsAsync(instanceId, "Workflow1:Flowchart1:SendOtp"));
        var journal = JsonSerializer.Serialize(await server.Instances.GetJournalAsync(instanceId, new JournalQuery()));
        Assert.DoesNotContain(code, sendRecords, StringComparison.Ordinal);
        Assert.DoesNotContain(code, journal, StringComparison.Ordinal);
        Assert.DoesNotContain(code, JsonSerializer.Serialize(state.ActivityOutputs.GetValueOrDefault("SendOtp")), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Otp_brute_force_is_stopped_after_five_wrong_codes(string flavour)
    {
        await using var server = await StartServerAsync();
        const string mobile = "+8613800138002";
        var (_, body) = await server.PostAsync($"workflows/{flavour}otp/send", new { mobile });
        var verifyUrl = body!["verifyUrl"]!.GetValue<string>();
        var code = SandboxServer.CodeIn(Assert.Single(server.Emulators.Yunpian.Sent, m => m.E164 == mobile).Text);
        var wrong = code == "000000" ? "111111" : "000000";

        for (var i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.BadRequest, (await server.PostAsync(verifyUrl, new { code = wrong })).Response.StatusCode);
        var (blocked, blockedBody) = await server.PostAsync(verifyUrl, new { code });
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.Equal("TooManyAttempts", blockedBody!["result"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Otp_then_voice_calls_with_a_code_when_no_delivery_report_comes_within_60_seconds(string flavour)
    {
        await using var server = await StartServerAsync();
        const string mobile = "+8613800138003";
        server.Emulators.Yunpian.Script.For(mobile, DeliveryPlan.NeverReport);

        var (sent, body) = await server.PostAsync($"workflows/{flavour}otp-voice/send", new { mobile });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var verifyUrl = body!["verifyUrl"]!.GetValue<string>();
        var instanceId = SandboxServer.InstanceIdIn(verifyUrl);
        Assert.Single(server.Emulators.Yunpian.Sent, m => m.E164 == mobile);
        await server.WaitForInstanceAsync(instanceId, s => s.SubStatus == WorkflowSubStatus.Suspended, "the wait for the delivery report");
        await Task.Delay(300);
        Assert.DoesNotContain(server.Emulators.Yaningai.Messages, m => m.Mobile == mobile);

        server.Time.Advance(TimeSpan.FromSeconds(61));
        var call = await SandboxServer.EventuallyAsync("the voice call", () => server.Emulators.Yaningai.Messages.FirstOrDefault(m => m.Mobile == mobile && m.Kind == "vos-otp"));
        var code = SandboxServer.CodeIn(call.Content ?? string.Join(" ", call.TemplateParams));

        var (valid, validBody) = await SandboxServer.EventuallyAsync("the verify endpoint", async () =>
        {
            var attempt = await server.PostAsync(verifyUrl, new { code });
            return attempt.Response.StatusCode == HttpStatusCode.NotFound ? null : Tuple.Create(attempt.Response, attempt.Body);
        });
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.Equal("Valid", validBody!["result"]!.GetValue<string>());
        await server.WaitForInstanceAsync(instanceId, s => s.SubStatus == WorkflowSubStatus.Finished, "the workflow to finish");
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Otp_then_voice_makes_no_call_when_the_sms_is_delivered(string flavour)
    {
        await using var server = await StartServerAsync();
        const string mobile = "+8613800138004";
        var (_, body) = await server.PostAsync($"workflows/{flavour}otp-voice/send", new { mobile });
        var verifyUrl = body!["verifyUrl"]!.GetValue<string>();
        var code = SandboxServer.CodeIn(Assert.Single(server.Emulators.Yunpian.Sent, m => m.E164 == mobile).Text);

        // The delivery report is pushed by the emulator to the webhook and resumes the wait; then verify answers.
        var (valid, _) = await SandboxServer.EventuallyAsync("the verify endpoint", async () =>
        {
            var attempt = await server.PostAsync(verifyUrl, new { code });
            return attempt.Response.StatusCode == HttpStatusCode.NotFound ? null : Tuple.Create(attempt.Response, attempt.Body);
        });
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.DoesNotContain(server.Emulators.Yaningai.Messages, m => m.Mobile == mobile);
        Assert.Contains(server.Emulators.Pushes.Attempts, p => p.Vendor == "yunpian" && p.Kind == "status" && p.Acknowledged);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Campaign_resends_failed_recipients_through_the_second_vendor_and_summarises(string flavour)
    {
        await using var server = await StartServerAsync();
        string[] recipients = ["+8613800138011", "+8613800138012", "+8613800138013"];
        const string failing = "+8613800138012";
        using (var script = await server.Http.PutAsync($"_emulators/yunpian/_script/{Uri.EscapeDataString(failing)}",
                   JsonContent("""{"outcome":"Failed","afterMs":20,"failureCode":"UNDELIV"}""")))
            Assert.Equal(HttpStatusCode.NoContent, script.StatusCode);

        var (accepted, body) = await server.PostAsync($"workflows/{flavour}campaign", new { recipients, text = "Spring sale: 20% off this weekend." });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var statusUrl = body!["statusUrl"]!.GetValue<string>();
        Assert.Equal(statusUrl, accepted.Headers.Location?.OriginalString);
        Assert.Equal(3, body["recipients"]!.GetValue<int>());

        var status = await SandboxServer.EventuallyAsync("the campaign's status to say finished", async () =>
        {
            using var response = await server.Http.GetAsync(statusUrl.TrimStart('/'));
            var answer = response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
            return answer?["status"]?.GetValue<string>() == "finished" ? answer : null;
        });
        var summary = status["summary"]!;
        Assert.Equal(3, summary["recipients"]!.GetValue<int>());
        Assert.Equal(3, summary["sent"]!.GetValue<int>());
        Assert.Equal(2, summary["firstRound"]!["delivered"]!.GetValue<int>());
        Assert.Equal(1, summary["firstRound"]!["failed"]!.GetValue<int>());
        Assert.Equal([failing], summary["failedFirst"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(1, summary["resent"]!.GetValue<int>());
        Assert.Equal(1, summary["secondRound"]!["delivered"]!.GetValue<int>());
        Assert.Empty(summary["stillFailed"]!.AsArray());
        Assert.Equal(0, summary["inDoubt"]!.GetValue<int>());
        Assert.Empty(summary["inDoubtRecipients"]!.AsArray());
        Assert.Equal(recipients, server.Emulators.Yunpian.Sent.Select(m => m.E164).Order());
        Assert.EndsWith(failing[3..], Assert.Single(server.Emulators.Tencent.Sent).Mobile, StringComparison.Ordinal);

        // The summary is the workflow's output too; the instance keeps answering the status URL for a day, then finishes.
        var state = await server.WaitForInstanceAsync(SandboxServer.InstanceIdIn(statusUrl), s => s.Output.ContainsKey("summary"), "the campaign's output");
        Assert.Equal(1, state.Output["summary"]!["resent"]!.GetValue<int>());
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Campaign_resends_every_failed_recipient_when_they_are_more_than_the_outputs_list(string flavour)
    {
        // 5 failures over a limit of 3: the first wait's FailedRecipients is left empty, and the resend reads the records.
        await using var server = await StartServerAsync(new Dictionary<string, string?> { ["SmsActivities:MaxResultsInOutputs"] = "3" });
        var recipients = Enumerable.Range(21, 8).Select(i => $"+86138001380{i}").ToArray();
        var failing = recipients.Where((_, i) => i % 2 == 0 || i == 7).ToArray();
        foreach (var mobile in failing)
            server.Emulators.Yunpian.Script.For(mobile, DeliveryPlan.Fail("UNDELIV", TimeSpan.FromMilliseconds(20)));

        var (accepted, body) = await server.PostAsync($"workflows/{flavour}campaign", new { recipients, text = "Spring sale: 20% off this weekend." });
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var statusUrl = body!["statusUrl"]!.GetValue<string>();
        var status = await SandboxServer.EventuallyAsync("the campaign's status to say finished", async () =>
        {
            using var response = await server.Http.GetAsync(statusUrl.TrimStart('/'));
            var answer = response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
            return answer?["status"]?.GetValue<string>() == "finished" ? answer : null;
        });

        var summary = status["summary"]!;
        var seen = $"summary {summary.ToJsonString()}";
        Assert.True(summary["failedFirst"]!.AsArray().Count == 0, $"the first wait's list should be left empty over the limit; {seen}");
        Assert.True(summary["firstRound"]!["failed"]?.GetValue<int>() == failing.Length, $"first round tally; {seen}");
        Assert.True(summary["resent"]?.GetValue<int>() == failing.Length, $"every failed recipient should be resent; {seen}");
        Assert.True(summary["secondRound"]!["delivered"]?.GetValue<int>() == failing.Length, $"second round tally; {seen}");
        Assert.Equal(failing.Select(m => m[3..]).Order(), server.Emulators.Tencent.Sent.Select(m => m.Mobile[^11..]).Order());
    }

    [Fact]
    public async Task Reply_router_confirms_answers_help_and_records_opt_outs()
    {
        await using var server = await StartServerAsync();
        const string confirming = "+8613800138021";
        const string stopping = "+8613800138022";
        const string asking = "+8613800138023";

        await InjectReplyAsync(server, "yunpian", confirming, "yes please");
        var confirmation = await SandboxServer.EventuallyAsync("the confirmation SMS", () => server.Emulators.Yunpian.Sent.FirstOrDefault(m => m.E164 == confirming));
        Assert.Contains("confirmed", confirmation.Text, StringComparison.Ordinal);

        await InjectReplyAsync(server, "tencent", asking, "help");
        var help = await SandboxServer.EventuallyAsync("the help SMS", () => server.Emulators.Tencent.Sent.FirstOrDefault(m => m.Mobile.EndsWith(asking[3..], StringComparison.Ordinal)));
        Assert.Contains("Reply Y", help.Text, StringComparison.Ordinal);

        await InjectReplyAsync(server, "yunpian", stopping, "STOP");
        var actions = await SandboxServer.EventuallyAsync("three finished reply-router instances", async () =>
        {
            var list = await server.Instances.ListAsync(new WorkflowInstanceQuery { DefinitionIds = ["reply-router"], SubStatuses = [WorkflowSubStatus.Finished] });
            if (list.Items.Count < 3) return null;
            var states = await Task.WhenAll(list.Items.Select(i => server.Instances.GetStateAsync(i.Id)));
            return states.Select(s => s!.Output.GetValueOrDefault("action")?.GetValue<string>()).Order().ToArray();
        });
        Assert.Equal("confirmed,help,opted-out", string.Join(",", actions));
        Assert.True(await server.Services.GetRequiredService<OptOutList>().ContainsAsync(stopping));
        Assert.DoesNotContain(server.Emulators.Yunpian.Sent, m => m.E164 == stopping);

        // The code-first twin listens to replies to extend code 2 only.
        Assert.Empty((await server.Instances.ListAsync(new WorkflowInstanceQuery { DefinitionIds = ["reply-router-code"] })).Items);
        await InjectReplyAsync(server, "yunpian", "+8613800138024", "Y", extend: "2");
        await SandboxServer.EventuallyAsync("the code-first reply router", async () =>
            (await server.Instances.ListAsync(new WorkflowInstanceQuery { DefinitionIds = ["reply-router-code"], SubStatuses = [WorkflowSubStatus.Finished] })).Items.FirstOrDefault());
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Send_and_wait_for_reply_takes_the_first_matching_answer(string flavour)
    {
        await using var server = await StartServerAsync();
        const string mobile = "+8613800138031";
        var (asked, body) = await server.PostAsync($"workflows/{flavour}survey", new { mobile });
        Assert.Equal(HttpStatusCode.Accepted, asked.StatusCode);
        var resultUrl = body!["resultUrl"]!.GetValue<string>();
        var instanceId = SandboxServer.InstanceIdIn(resultUrl);
        await server.WaitForInstanceAsync(instanceId, s => s.SubStatus == WorkflowSubStatus.Suspended, "the wait for the answer");

        await InjectReplyAsync(server, "tencent", mobile, "what?");   // not 1-5: the wait goes on
        await InjectReplyAsync(server, "tencent", mobile, "4");
        var result = await server.GetWhenReadyAsync(resultUrl);
        Assert.Equal("4", result["answer"]!.GetValue<string>());
        Assert.False(result["timedOut"]!.GetValue<bool>());
        Assert.Contains(server.Emulators.Tencent.Sent, m => m.Text.Contains("Thank you for your answer", StringComparison.Ordinal));
        await server.WaitForInstanceAsync(instanceId, s => s.SubStatus == WorkflowSubStatus.Finished, "the survey to finish");
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task Send_and_wait_for_reply_times_out_after_ten_minutes(string flavour)
    {
        await using var server = await StartServerAsync();
        const string mobile = "+8613800138032";
        var (_, body) = await server.PostAsync($"workflows/{flavour}survey", new { mobile });
        var resultUrl = body!["resultUrl"]!.GetValue<string>();
        var instanceId = SandboxServer.InstanceIdIn(resultUrl);
        await server.WaitForInstanceAsync(instanceId, s => s.SubStatus == WorkflowSubStatus.Suspended, "the wait for the answer");
        using (var early = await server.Http.GetAsync(resultUrl.TrimStart('/'))) Assert.Equal(HttpStatusCode.NotFound, early.StatusCode);

        server.Time.Advance(TimeSpan.FromMinutes(11));
        var result = await server.GetWhenReadyAsync(resultUrl);
        Assert.True(result["timedOut"]!.GetValue<bool>());
        Assert.Null(result["answer"]);
        Assert.DoesNotContain(server.Emulators.Tencent.Sent, m => m.Text.Contains("Thank you", StringComparison.Ordinal));
    }

    private static async Task InjectReplyAsync(SandboxServer server, string vendor, string mobile, string text, string? extend = null)
    {
        using var response = await server.Http.PostAsync($"_emulators/{vendor}/_handset/replies",
            JsonContent(JsonSerializer.Serialize(new { mobile, text, extend })));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
