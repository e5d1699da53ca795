using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Activities;
using SmsActivities.Emulators;
using SmsActivities.OptOut;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Tests.Plugin;

public sealed partial class ReplyAndOtpTests
{
    private const string A = "+8613800138001";
    private const string B = "+8613800138002";

    [GeneratedRegex("[0-9]{6}")]
    private static partial Regex SixDigits();

    [Fact]
    public async Task WaitForReply_ignores_replies_that_do_not_match_the_pattern_and_resumes_on_one_that_does()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("ask", f =>
        {
            var send = f.Add(new SendSms { Id = "send", Recipients = new(A), Text = new("Confirm your booking? Y/N"), Extend = new("12") });
            var wait = f.Add(new WaitForReply { Id = "reply", Mobile = new(A), KeywordPattern = new("^(Y|N)$"), Timeout = new(TimeSpan.FromSeconds(30)) });
            f.Connect(send, wait, SendSms.Sent);
        })]);
        var run = await bed.RunAsync("ask");
        var first = (await bed.WaitForAsync(run.InstanceId, s => s.Bookmarks.Any(b => b.Name == "SmsActivities.WaitForReply"))).Bookmarks.Single(b => b.Name == "SmsActivities.WaitForReply");

        bed.Tencent.InjectReply(new HandsetReply(B, "Y"));
        bed.Tencent.InjectReply(new HandsetReply(A, "maybe later"));
        // The non-matching reply was taken and the wait re-armed (a new bookmark), not completed.
        var rearmed = await bed.WaitForAsync(run.InstanceId, s => s.Bookmarks.Any(b => b.Name == "SmsActivities.WaitForReply" && b.Id != first.Id));
        Assert.Equal(WorkflowSubStatus.Suspended, rearmed.SubStatus);
        Assert.Empty(await bed.OutcomesAsync(run.InstanceId, "reply"));

        bed.Tencent.InjectReply(new HandsetReply(A, "y"));
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([WaitForReply.Replied], await bed.OutcomesAsync(run.InstanceId, "reply"));
        Assert.Equal("y", state.ActivityOutputs["reply"]["Text"]!.GetValue<string>());
        Assert.Equal(A, state.ActivityOutputs["reply"]["From"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_reply_older_than_the_claim_window_or_pushed_again_does_not_answer_a_wait_that_began_after_it()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("later", f =>
            f.Add(new WaitForReply { Id = "reply", Mobile = new(A), Timeout = new(TimeSpan.FromSeconds(30)) }))],
            settings: new Dictionary<string, string?> { ["SmsActivities:ReplyClaimWindow"] = "00:00:00" });
        var publisher = bed.Services.GetRequiredService<SmsActivities.Stimuli.SmsStimulusPublisher>();
        var old = new InboundReply(VendorNames.Tencent, A, "yes", null, DateTimeOffset.UtcNow, VendorReplyId: "r-1");

        Assert.True(await publisher.PublishReplyAsync(old, CancellationToken.None));
        var run = await bed.RunAsync("later");
        // The wait claims the kept reply, sees it is older than the wait by more than the window, and waits on.
        await bed.WaitForAsync(run.InstanceId, s => s.Bookmarks.Any(b => b.Name == "SmsActivities.WaitForReply"));
        // The vendor pushes the same reply again (its acknowledgement got lost): a repeat, not an answer to the new wait.
        Assert.False(await publisher.PublishReplyAsync(old, CancellationToken.None));
        Assert.Empty(await bed.OutcomesAsync(run.InstanceId, "reply"));

        Assert.True(await publisher.PublishReplyAsync(old with { Text = "no", VendorReplyId = "r-2" }, CancellationToken.None));
        var state = await bed.WaitForFinishAsync(run.InstanceId);
        Assert.Equal("no", state.ActivityOutputs["reply"]["Text"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_reply_that_waited_in_the_push_inbox_is_as_old_as_its_push_not_its_processing()
    {
        var clock = new ShiftedClock();
        // The processor, woken by the push, waits 5 s (wall clock) for more pushes: the clock moves on in between.
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("asked-later", f =>
            f.Add(new WaitForReply { Id = "reply", Mobile = new(A), Timeout = new(TimeSpan.FromMinutes(10)) }))],
            settings: new Dictionary<string, string?> { ["SmsActivities:Inbox:MaxDelay"] = "00:00:05" }, time: clock);
        var push = $$"""{"nationcode":"86","mobile":"13800138001","text":"yes","sign":"Acme","time":{{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}},"extend":""}""";
        using (var answer = await bed.Http.PostAsync(bed.WebhookUrl("tencent", "reply"), new StringContent(push, Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        clock.Offset = TimeSpan.FromMinutes(2); // past the reply claim window (60 s)
        Assert.Equal(1, await bed.InboxCountAsync());

        await bed.InboxDrainedAsync();
        var run = await bed.RunAsync("asked-later");
        // The wait claims the kept reply: received two minutes before the wait began, when its push was acknowledged.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await bed.JournalAndRecordsAsync(run.InstanceId)).Contains("ignored a reply", StringComparison.Ordinal))
        {
            Assert.Empty(await bed.OutcomesAsync(run.InstanceId, "reply"));
            Assert.True(DateTime.UtcNow < deadline, "the wait did not set the old reply aside");
            await Task.Delay(50);
        }
        Assert.Empty(await bed.OutcomesAsync(run.InstanceId, "reply"));
    }

    /// <summary>Real time moved on by hand: timers still run, and the offset ages what is stored.</summary>
    private sealed class ShiftedClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Offset;
    }

    [Fact]
    public async Task A_reply_that_came_in_just_before_the_wait_began_answers_it_once()
    {
        await using var bed = await PluginTestBed.StartAsync([
            new CodeWorkflow("first", f => f.Add(new WaitForReply { Id = "reply", Mobile = new(A), Timeout = new(TimeSpan.FromSeconds(30)) })),
            new CodeWorkflow("second", f => f.Add(new WaitForReply { Id = "reply", Mobile = new(A), Timeout = new(TimeSpan.FromSeconds(30)) })),
        ]);
        var publisher = bed.Services.GetRequiredService<SmsActivities.Stimuli.SmsStimulusPublisher>();

        Assert.True(await publisher.PublishReplyAsync(new InboundReply(VendorNames.Tencent, A, "yes", null, DateTimeOffset.UtcNow, VendorReplyId: "r-1"), CancellationToken.None));
        var first = await bed.RunAsync("first");
        var state = await bed.WaitForFinishAsync(first.InstanceId);
        Assert.Equal("yes", state.ActivityOutputs["reply"]["Text"]!.GetValue<string>());

        // Claimed once: a second wait for the same number does not get it again.
        var second = await bed.RunAsync("second");
        await bed.WaitForAsync(second.InstanceId, s => s.Bookmarks.Any(b => b.Name == "SmsActivities.WaitForReply"));
        Assert.Empty(await bed.OutcomesAsync(second.InstanceId, "reply"));
    }

    [Fact]
    public async Task WaitForReply_leaves_by_Timeout_when_nobody_answers()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("silence", f =>
            f.Add(new WaitForReply { Id = "reply", Mobile = new(A), Timeout = new(TimeSpan.FromMilliseconds(400)) }))]);
        var run = await bed.RunAsync("silence");
        await bed.WaitForFinishAsync(run.InstanceId);
        Assert.Equal(["Timeout"], await bed.OutcomesAsync(run.InstanceId, "reply"));
    }

    [Fact]
    public async Task SmsReplyReceived_starts_only_the_workflows_whose_keyword_and_vendor_filters_match()
    {
        await using var bed = await PluginTestBed.StartAsync(
        [
            Trigger("yes", new SmsReplyReceived { Keywords = new("Y,YES"), Vendor = new("tencent") }),
            Trigger("any", new SmsReplyReceived()),
            Trigger("other-vendor", new SmsReplyReceived { Vendor = new("yunpian") }),
            Trigger("pattern", new SmsReplyReceived { Pattern = new("^order \\d+$") }),
        ]);

        bed.Tencent.InjectReply(new HandsetReply(A, "yes please"));
        bed.Tencent.InjectReply(new HandsetReply(B, "no"));
        bed.Tencent.InjectReply(new HandsetReply(B, "order 42"));

        await WaitForCountAsync(bed, "any", 3);
        await WaitForCountAsync(bed, "yes", 1);
        await WaitForCountAsync(bed, "pattern", 3);
        await Task.Delay(200);
        Assert.Equal(1, await CountAsync(bed, "yes"));
        Assert.Equal(0, await CountAsync(bed, "other-vendor"));

        var yes = (await bed.Instances.ListAsync(new WorkflowInstanceQuery { DefinitionIds = ["yes"] })).Items.Single();
        var outputs = await bed.OutputsAsync(yes.Id, "trigger");
        Assert.Equal("YES", outputs["Keyword"]!.GetValue<string>());
        Assert.Equal(A, outputs["Mobile"]!.GetValue<string>());
        // The pattern trigger ran its flow only for the matching reply: the others ended at the trigger.
        var patternRuns = (await bed.Instances.ListAsync(new WorkflowInstanceQuery { DefinitionIds = ["pattern"] })).Items;
        var ranOn = 0;
        foreach (var run in patternRuns)
            ranOn += (await bed.Instances.GetActivityExecutionsAsync(run.Id)).Count(r => r.ActivityType == "Elsa.WriteLine");
        Assert.Equal(1, ranOn);
    }

    [Fact]
    public async Task A_STOP_reply_puts_the_number_on_the_opt_out_list_and_later_sends_skip_it()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("promo", f => f.Add(new SendSms { Id = "send", Recipients = new($"{A},{B}"), Text = new("sale") }))]);

        bed.Tencent.InjectReply(new HandsetReply(B, " 退订 "));
        var optOuts = bed.Services.GetRequiredService<OptOutList>();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await optOuts.ContainsAsync(B) && DateTime.UtcNow < deadline) await Task.Delay(25);
        Assert.True(await optOuts.ContainsAsync(B));
        Assert.False(await optOuts.ContainsAsync(A));

        var run = await bed.RunAsync("promo");
        Assert.Equal([SendSms.PartiallySent], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.DoesNotContain(bed.Tencent.Sent, s => s.Mobile == B);
    }

    [Fact]
    public async Task An_OTP_code_reaches_the_handset_only_and_verifies_once()
    {
        await using var bed = await PluginTestBed.StartAsync(
        [
            new CodeWorkflow("otp", f => f.Add(new SendSms { Id = "send", Recipients = new(A), Text = new("Your code is {code}, valid 10 minutes."), Otp = new(true), OtpPurpose = new("login") })),
            Verify(),
        ]);

        var run = await bed.RunAsync("otp");
        Assert.Equal([SendSms.Sent], await bed.OutcomesAsync(run.InstanceId, "send"));
        var code = SixDigits().Match(bed.Tencent.Sent.Single().Text).Value;
        Assert.Equal(6, code.Length);

        var stored = await bed.EverythingStoredAboutAsync(run.InstanceId);
        Assert.Contains("{code}", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(code, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(code, bed.Logs.All, StringComparison.Ordinal);

        Assert.Equal("Invalid", await VerifyAsync(bed, code == "000000" ? "111111" : "000000"));
        var valid = await bed.RunAsync("verify", new Dictionary<string, object?> { ["mobile"] = A, ["code"] = code });
        Assert.Equal(["Valid"], await bed.OutcomesAsync(valid.InstanceId, "verify"));
        // The code the user typed is the verify workflow's own input; the activity's records and the journal mask it.
        Assert.DoesNotContain(code, await bed.JournalAndRecordsAsync(valid.InstanceId), StringComparison.Ordinal);
        Assert.Equal("Invalid", await VerifyAsync(bed, code));
    }

    [Fact]
    public async Task OTP_brute_force_is_stopped_after_five_checks_even_with_the_right_code()
    {
        await using var bed = await PluginTestBed.StartAsync(
        [
            new CodeWorkflow("otp", f => f.Add(new SendSms { Id = "send", Recipients = new(A), Text = new("code {code}"), Otp = new(true), OtpPurpose = new("login") })),
            Verify(),
        ]);
        await bed.RunAsync("otp");
        var code = SixDigits().Match(bed.Tencent.Sent.Single().Text).Value;
        var wrong = code == "000000" ? "111111" : "000000";

        for (var i = 0; i < 5; i++) Assert.Equal("Invalid", await VerifyAsync(bed, wrong));
        Assert.Equal("TooManyAttempts", await VerifyAsync(bed, code));
    }

    [Fact]
    public async Task A_second_OTP_within_the_cool_down_is_refused_and_not_sent()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("otp", f => f.Add(new SendSms { Id = "send", Recipients = new(A), Text = new("code {code}"), Otp = new(true) }))]);
        await bed.RunAsync("otp");
        var second = await bed.RunAsync("otp");

        Assert.Equal([SendSms.RateLimited], await bed.OutcomesAsync(second.InstanceId, "send"));
        Assert.Contains("cool-down", (await bed.OutputsAsync(second.InstanceId, "send"))["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Single(bed.Tencent.Sent);
    }

    [Fact]
    public async Task OTP_needs_the_code_placeholder_and_a_single_recipient()
    {
        await using var bed = await PluginTestBed.StartAsync(
        [
            new CodeWorkflow("no-placeholder", f => f.Add(new SendSms { Id = "send", Recipients = new(A), Text = new("no code here"), Otp = new(true) })),
            new CodeWorkflow("two", f => f.Add(new SendSms { Id = "send", Recipients = new($"{A},{B}"), Text = new("code {code}"), Otp = new(true) })),
        ]);
        var first = await bed.RunAsync("no-placeholder");
        var second = await bed.RunAsync("two");
        Assert.Contains("{code}", (await bed.OutputsAsync(first.InstanceId, "send"))["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("exactly one recipient", (await bed.OutputsAsync(second.InstanceId, "send"))["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(bed.TencentSends());
    }

    [Fact]
    public async Task Duplicated_pushes_are_acknowledged_and_start_the_report_trigger_once()
    {
        await using var bed = await PluginTestBed.StartAsync([Trigger("on-report", new DeliveryReportReceived { Vendor = new("tencent"), Status = new("Failed") })]);
        var push = """[{"user_receive_time":"2026-11-21 10:00:00","nationcode":"86","mobile":"13800138001","report_status":"FAIL","errmsg":"MK:0001","description":"blocked","sid":"dup-sid-1"},{"nationcode":"86","mobile":"13800138002","report_status":"SUCCESS","errmsg":"DELIVRD","sid":"dup-sid-2"}]""";

        for (var i = 0; i < 3; i++)
        {
            using var answer = await bed.Http.PostAsync(bed.WebhookUrl("tencent", "status"), new StringContent(push, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal("""{"result":0,"errmsg":"OK"}""", await answer.Content.ReadAsStringAsync());
        }

        await WaitForCountAsync(bed, "on-report", 1);
        await Task.Delay(200);
        Assert.Equal(1, await CountAsync(bed, "on-report"));
        var run = (await bed.Instances.ListAsync(new WorkflowInstanceQuery { DefinitionIds = ["on-report"] })).Items.Single();
        var outputs = await bed.OutputsAsync(run.Id, "trigger");
        Assert.Equal("dup-sid-1", outputs["MessageId"]!.GetValue<string>());
        Assert.Equal("Failed", outputs["ReportStatus"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unauthenticated_or_malformed_pushes_get_a_4xx_and_are_logged_without_the_token()
    {
        await using var bed = await PluginTestBed.StartAsync([Trigger("on-report", new DeliveryReportReceived())]);
        var push = """[{"nationcode":"86","mobile":"13800138001","report_status":"SUCCESS","sid":"x1"}]""";

        using var wrongToken = await bed.Http.PostAsync(bed.WebhookUrl("tencent", "status", "not-the-token-at-all-000000"), new StringContent(push, Encoding.UTF8, "application/json"));
        using var malformed = await bed.Http.PostAsync(bed.WebhookUrl("tencent", "status"), new StringContent("{not json", Encoding.UTF8, "application/json"));
        using var noSid = await bed.Http.PostAsync(bed.WebhookUrl("tencent", "status"), new StringContent("""[{"mobile":"13800138001"}]""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, wrongToken.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noSid.StatusCode);
        Assert.Equal(0, await CountAsync(bed, "on-report"));
        Assert.Contains(bed.Logs.Lines, l => l.Contains("wrong path token", StringComparison.Ordinal));
        Assert.Contains(bed.Logs.Lines, l => l.Contains("Refused a tencent status push (400)", StringComparison.Ordinal));
        Assert.DoesNotContain(PluginTestBed.Token, bed.Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-token-at-all", bed.Logs.All, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tencent", "/pullstatus")]
    [InlineData("yunpian", "/pull_status.json")]
    public async Task Pulled_reports_and_replies_feed_the_same_path_as_pushed_ones(string vendor, string pullPath)
    {
        await using var bed = await PluginTestBed.StartAsync(
            [new CodeWorkflow("pulled", f =>
            {
                var send = f.Add(new SendSms { Id = "send", Vendor = new(vendor), Recipients = new(A), Text = new("【SmsSandbox】hi") });
                var wait = f.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(TimeSpan.FromSeconds(30)) });
                var reply = f.Add(new WaitForReply { Id = "reply", Mobile = new(A), Timeout = new(TimeSpan.FromSeconds(30)) });
                f.Connect(send, wait, SendSms.Sent);
                f.Connect(wait, reply, WaitForDeliveryReport.Delivered);
            })],
            new Dictionary<string, string?> { [$"SmsActivities:Pull:{vendor}:Enabled"] = "true", [$"SmsActivities:Pull:{vendor}:Interval"] = "00:00:00.100" });
        // No push addresses: the emulators keep reports and replies for their pull APIs.
        bed.Tencent.StatusCallbackUrl = null;
        bed.Tencent.ReplyCallbackUrl = null;
        bed.Emulators.Set.Yunpian.StatusCallbackUrl = null;
        bed.Emulators.Set.Yunpian.ReplyCallbackUrl = null;

        var run = await bed.RunAsync("pulled");
        await bed.WaitForAsync(run.InstanceId, s => s.Bookmarks.Any(b => b.Name == "SmsActivities.WaitForReply"));
        bed.Emulators.Set.Get(vendor).InjectReply(new HandsetReply(A, "got it"));
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([WaitForDeliveryReport.Delivered], await bed.OutcomesAsync(run.InstanceId, "wait"));
        Assert.Equal("got it", state.ActivityOutputs["reply"]["Text"]!.GetValue<string>());
        Assert.NotEmpty(bed.Emulators.Set.Requests.For(vendor, pullPath));
    }

    [Theory]
    [InlineData("yunpian", "reply", "application/x-www-form-urlencoded", "sms_reply=%7B%22id%22%3A%2242%22%2C%22mobile%22%3A%2213800138001%22%2C%22text%22%3A%22STOP%22%2C%22reply_time%22%3A%222026-11-21+10%3A00%3A00%22%2C%22extend%22%3A%22%22%2C%22base_extend%22%3A%228888%22%2C%22_sign%22%3A%22forged%22%7D")]
    [InlineData("sendcloud", "smshook", "application/x-www-form-urlencoded", "event=reply&phone=13800138001&content=STOP&timestamp=1795305861&token=abcdef&signature=forged")]
    public async Task Pushes_with_a_forged_vendor_signature_are_refused_and_change_nothing(string vendor, string kind, string contentType, string body)
    {
        await using var bed = await PluginTestBed.StartAsync([Trigger("any", new SmsReplyReceived())]);

        using var answer = await bed.Http.PostAsync(bed.WebhookUrl(vendor, kind), new StringContent(body, Encoding.UTF8, contentType));

        Assert.InRange((int)answer.StatusCode, 400, 499);
        Assert.False(await bed.Services.GetRequiredService<OptOutList>().ContainsAsync(A));
        Assert.Equal(0, await CountAsync(bed, "any"));
        Assert.Contains(bed.Logs.Lines, l => l.Contains($"Refused a {vendor} {kind} push", StringComparison.Ordinal));
        Assert.DoesNotContain(SmsActivities.Emulators.Yunpian.YunpianEmulator.SandboxApiKey, bed.Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(SmsActivities.Emulators.SendCloud.SendCloudEmulator.SandboxAppKey, bed.Logs.All, StringComparison.Ordinal);
    }

    private static CodeWorkflow Trigger(string id, Trigger trigger) => new(id, f =>
    {
        trigger.Id = "trigger";
        trigger.CanStartWorkflow = true;
        f.Connect(f.Add(trigger), f.Add(new SmsActivities.Workflows.Activities.BuiltIn.WriteLine(new Input<string>("matched"))));
    });

    private static CodeWorkflow Verify() => new("verify", f => f.Add(new VerifyOtp
    {
        Id = "verify",
        Mobile = new(c => c.GetWorkflowInput<string>("mobile")),
        Code = new(c => c.GetWorkflowInput<string>("code")),
        Purpose = new("login"),
    }));

    private static async Task<string> VerifyAsync(PluginTestBed bed, string code)
    {
        var run = await bed.RunAsync("verify", new Dictionary<string, object?> { ["mobile"] = A, ["code"] = code });
        return (await bed.OutcomesAsync(run.InstanceId, "verify")).Single();
    }

    private static async Task<long> CountAsync(PluginTestBed bed, string definitionId) =>
        (await bed.Instances.ListAsync(new WorkflowInstanceQuery { DefinitionIds = [definitionId], PageSize = 100 })).TotalCount;

    private static async Task WaitForCountAsync(PluginTestBed bed, string definitionId, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await CountAsync(bed, definitionId) < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{definitionId}: fewer than {count} instances");
            await Task.Delay(25);
        }
    }
}
