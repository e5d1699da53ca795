using Microsoft.EntityFrameworkCore;
using SmsActivities.Activities;
using SmsActivities.Emulators;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;

namespace SmsActivities.Tests.Plugin;

/// <summary>The activities against every vendor that supports them, through the emulators and the vendors' own push formats.</summary>
public sealed class MultiVendorTests
{
    private const string A = "+8613800138001";
    private const string B = "+8613800138002";

    private static SendSms SendTo(string vendor, string recipients) => vendor == VendorNames.SendCloud
        // SendCloud sends approved templates only: template 1 of its emulator takes %code%.
        ? new SendSms { Id = "send", Vendor = new(vendor), Recipients = new(recipients), TemplateId = new("1"), TemplateParams = new("code=123456") }
        : new SendSms { Id = "send", Vendor = new(vendor), Recipients = new(recipients), Text = new("【SmsSandbox】Your parcel is ready") };

    [Theory]
    [InlineData(VendorNames.Yunpian)]
    [InlineData(VendorNames.Tencent)]
    [InlineData(VendorNames.SendCloud)]
    [InlineData(VendorNames.Yaningai)]
    public async Task SendSms_then_WaitForDeliveryReport_is_resumed_by_the_vendors_own_pushes(string vendor)
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("send-" + vendor, f =>
        {
            var send = f.Add(SendTo(vendor, $"{A},{B}"));
            f.Connect(send, f.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(TimeSpan.FromSeconds(30)) }), SendSms.Sent);
        })]);
        ((IScriptedEmulator)bed.Emulators.Set.Get(vendor)).Script.For(B, DeliveryPlan.Fail("UNDELIV"));

        var run = await bed.RunAsync("send-" + vendor);
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([SendSms.Sent], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.Equal([WaitForDeliveryReport.Failed], await bed.OutcomesAsync(run.InstanceId, "wait"));
        var wait = state.ActivityOutputs["wait"];
        Assert.Equal(1, wait["Tally"]!["delivered"]!.GetValue<int>());
        Assert.Equal([B], wait["FailedRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));
        var records = await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().ToListAsync());
        Assert.All(records, r => Assert.Equal(vendor, r.Vendor));
    }

    [Theory]
    [InlineData(VendorNames.Yunpian)]
    [InlineData(VendorNames.Tencent)]
    [InlineData(VendorNames.SendCloud)]
    [InlineData(VendorNames.Yaningai)]
    public async Task WaitForReply_is_resumed_by_each_vendors_reply_push(string vendor)
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("ask-" + vendor, f =>
        {
            var send = f.Add(SendTo(vendor, A));
            f.Connect(send, f.Add(new WaitForReply { Id = "reply", Mobile = new(A), Timeout = new(TimeSpan.FromSeconds(30)) }), SendSms.Sent);
        })]);
        var run = await bed.RunAsync("ask-" + vendor);
        await bed.WaitForAsync(run.InstanceId, s => s.Bookmarks.Any(b => b.Name == "SmsActivities.WaitForReply"));

        bed.Emulators.Set.Get(vendor).InjectReply(new HandsetReply(A, "Yes, thanks"));
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([WaitForReply.Replied], await bed.OutcomesAsync(run.InstanceId, "reply"));
        Assert.Equal("Yes, thanks", state.ActivityOutputs["reply"]["Text"]!.GetValue<string>());
        Assert.Equal(vendor, state.ActivityOutputs["reply"]["ReplyVendor"]!.GetValue<string>());
    }

    [Fact]
    public async Task Recipients_a_vendor_answers_503_for_move_to_the_failover_vendor()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("failover", f =>
        {
            var send = f.Add(new SendSms { Id = "send", Vendor = new(VendorNames.Yunpian), Failover = new(VendorNames.Tencent), Recipients = new($"{A},{B}"), Text = new("【SmsSandbox】hello") });
            f.Connect(send, f.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(TimeSpan.FromSeconds(30)) }), SendSms.Sent);
        })]);
        // 503: the vendor says it did not process the call, so nothing was sent and the next vendor may send.
        bed.Emulators.Set.Yunpian.Faults.FailNextCalls(10, 503);

        var run = await bed.RunAsync("failover");
        var state = await bed.WaitForFinishAsync(run.InstanceId);

        Assert.Equal([SendSms.Sent], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.NotEmpty(bed.Emulators.Set.Requests.For(VendorNames.Yunpian));
        Assert.Empty(bed.Emulators.Set.Yunpian.Sent);
        Assert.Equal(2, bed.Tencent.Sent.Count);
        Assert.All(state.ActivityOutputs["send"]["Results"]!.AsArray(), r => Assert.Equal(VendorNames.Tencent, r!["vendor"]!.GetValue<string>()));
        // The reports come from the vendor that finally took the messages.
        Assert.Equal([WaitForDeliveryReport.Delivered], await bed.OutcomesAsync(run.InstanceId, "wait"));
    }

    [Fact]
    public async Task Recipients_a_vendor_sent_but_answered_500_for_are_in_doubt_and_not_failed_over()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("doubt", f =>
            f.Add(new SendSms { Id = "send", Vendor = new(VendorNames.Yunpian), Failover = new(VendorNames.Tencent), Recipients = new($"{A},{B}"), Text = new("【SmsSandbox】hello") }))]);
        bed.Emulators.Set.Yunpian.Faults.FailNextCalls(1, EmulatorFault.AcceptThenFail, 500);

        var run = await bed.RunAsync("doubt");

        Assert.Equal([SendSms.Unknown], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.Equal(2, bed.Emulators.Set.Yunpian.Sent.Count);
        Assert.Empty(bed.Tencent.Sent);
        var outputs = await bed.OutputsAsync(run.InstanceId, "send");
        Assert.Equal([A, B], outputs["InDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(2, outputs["InDoubtCount"]?.GetValue<int>());
        Assert.All(outputs["Results"]!.AsArray(), r => Assert.True(r!["inDoubt"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task The_idempotency_key_reaches_the_vendors_that_take_one()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("uid", f => f.Add(SendTo(VendorNames.Yunpian, A)))]);
        var run = await bed.RunAsync("uid");
        var record = await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().SingleAsync());
        Assert.Equal(run.InstanceId, record.InstanceId);
        Assert.Equal(record.IdempotencyKey, bed.Emulators.Set.Yunpian.Sent.Single().Uid);
    }

    [Theory]
    [InlineData(VendorNames.SendCloud)]
    [InlineData(VendorNames.Yaningai)]
    public async Task SendVoiceOtp_reads_a_supplied_code_that_VerifyOtp_then_accepts_and_the_code_is_masked(string vendor)
    {
        await using var bed = await PluginTestBed.StartAsync(
        [
            new CodeWorkflow("voice", f => f.Add(new SendVoiceOtp { Id = "voice", Vendor = new(vendor), Mobile = new(A), Code = new("4821"), Purpose = new("login") })),
            new CodeWorkflow("verify", f => f.Add(new VerifyOtp { Id = "verify", Mobile = new(A), Code = new("4821"), Purpose = new("login") })),
        ]);

        var run = await bed.RunAsync("voice");
        Assert.Equal([SendVoiceOtp.Sent], await bed.OutcomesAsync(run.InstanceId, "voice"));
        Assert.Equal(vendor, (await bed.OutputsAsync(run.InstanceId, "voice"))["UsedVendor"]!.GetValue<string>());
        Assert.Contains(bed.Emulators.Set.Requests.For(vendor), r => r.Body.Contains("4821", StringComparison.Ordinal) || r.QueryString.Contains("4821", StringComparison.Ordinal));
        // The code as a number of its own: a timestamp's fraction of a second (…12:54:39.4821551) may hold the same digits.
        Assert.DoesNotMatch(@"(?<!\d)4821(?!\d)", await bed.JournalAndRecordsAsync(run.InstanceId));

        var verify = await bed.RunAsync("verify");
        Assert.Equal(["Valid"], await bed.OutcomesAsync(verify.InstanceId, "verify"));
    }

    [Fact]
    public async Task SendVoiceOtp_generates_a_code_and_refuses_bad_numbers_without_calling()
    {
        await using var bed = await PluginTestBed.StartAsync(
        [
            new CodeWorkflow("voice", f => f.Add(new SendVoiceOtp { Id = "voice", Vendor = new(VendorNames.Yaningai), Mobile = new(A), Digits = new(4) })),
            new CodeWorkflow("bad", f => f.Add(new SendVoiceOtp { Id = "voice", Vendor = new(VendorNames.Yaningai), Mobile = new("12") })),
            new CodeWorkflow("no-voice", f => f.Add(new SendVoiceOtp { Id = "voice", Vendor = new(VendorNames.Tencent), Mobile = new(A) })),
        ]);
        var ok = await bed.RunAsync("voice");
        Assert.Equal([SendVoiceOtp.Sent], await bed.OutcomesAsync(ok.InstanceId, "voice"));
        var calls = bed.Emulators.Set.Requests.For(VendorNames.Yaningai).Count;

        var bad = await bed.RunAsync("bad");
        var noVoice = await bed.RunAsync("no-voice");
        Assert.Equal([SendVoiceOtp.Failed], await bed.OutcomesAsync(bad.InstanceId, "voice"));
        Assert.Contains("mobile", (await bed.OutputsAsync(bad.InstanceId, "voice"))["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("unknown vendor 'tencent' for voice OTP", (await bed.OutputsAsync(noVoice.InstanceId, "voice"))["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(calls, bed.Emulators.Set.Requests.For(VendorNames.Yaningai).Count);
        Assert.Empty(bed.Emulators.Set.Requests.For(VendorNames.Tencent));
    }

    [Fact]
    public async Task SendEmail_sends_through_YANINGAI_and_outputs_message_ids()
    {
        await using var bed = await PluginTestBed.StartAsync(
        [
            new CodeWorkflow("mail", f => f.Add(new SendEmail
            {
                Id = "mail", To = new("ann@example.com, bob@example.com"), Subject = new("Welcome"), HtmlContent = new("<p>Hello %name%</p>"),
                SenderName = new("Acme"),
                Attachments = new([new EmailAttachmentInput("a.txt", "text/plain", Convert.ToBase64String("hi"u8.ToArray()))]),
            })),
            new CodeWorkflow("bad-mail", f => f.Add(new SendEmail { Id = "mail", To = new("not-an-address"), Subject = new("x"), HtmlContent = new("<p/>") })),
        ]);

        var run = await bed.RunAsync("mail");
        Assert.Equal([SendEmail.Sent], await bed.OutcomesAsync(run.InstanceId, "mail"));
        Assert.Equal(2, (await bed.OutputsAsync(run.InstanceId, "mail"))["MessageIds"]!.AsArray().Count);
        Assert.NotEmpty(bed.Emulators.Set.Yaningai.Emails);

        var emailsBefore = bed.Emulators.Set.Yaningai.Emails.Count;
        var bad = await bed.RunAsync("bad-mail");
        Assert.Equal([SendEmail.Failed], await bed.OutcomesAsync(bad.InstanceId, "mail"));
        Assert.Contains("to[0]", (await bed.OutputsAsync(bad.InstanceId, "mail"))["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(emailsBefore, bed.Emulators.Set.Yaningai.Emails.Count);
    }

    [Fact]
    public async Task A_delivery_report_wait_pointed_at_a_SendEmail_has_no_SMS_to_wait_for_and_fails_at_once()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("mail-wait", f =>
        {
            var send = f.Add(new SendEmail { Id = "send", To = new("ann@example.com"), SenderName = new("Acme"), Subject = new("Hi"), HtmlContent = new("<p/>") });
            f.Connect(send, f.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(TimeSpan.FromSeconds(30)) }), SendEmail.Sent);
        })]);

        var run = await bed.RunAsync("mail-wait");
        Assert.Equal([SendEmail.Sent], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.Single(await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().Where(r => r.Status == SendRecordStatus.Accepted).ToListAsync()));
        Assert.Equal([WaitForDeliveryReport.Failed], await bed.OutcomesAsync(run.InstanceId, "wait"));
    }

    [Fact]
    public async Task An_OTP_through_a_SendCloud_template_puts_the_code_in_the_template_parameter()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("otp", f => f.Add(new SendSms
        {
            Id = "send", Vendor = new(VendorNames.SendCloud), Recipients = new(A), TemplateId = new("1"), TemplateParams = new("code={code}"), Otp = new(true),
        }))]);
        var run = await bed.RunAsync("otp");
        Assert.Equal([SendSms.Sent], await bed.OutcomesAsync(run.InstanceId, "send"));
        var sent = bed.Emulators.Set.SendCloud.Sent.Single();
        var code = System.Text.RegularExpressions.Regex.Match(sent.Content, "验证码是([0-9]{6})").Groups[1].Value;
        Assert.Equal(6, code.Length);
        Assert.DoesNotContain(code, await bed.EverythingStoredAboutAsync(run.InstanceId), StringComparison.Ordinal);
    }
}
