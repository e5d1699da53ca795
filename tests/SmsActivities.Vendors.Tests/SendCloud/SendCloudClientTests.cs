using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Emulators;
using SmsActivities.Emulators.SendCloud;
using SmsActivities.Vendors.SendCloud;

namespace SmsActivities.Vendors.Tests.SendCloud;

public class SendCloudClientTests
{
    private static SmsMessage Template(IReadOnlyList<PhoneNumber> recipients, string? key = null) => new()
    {
        Recipients = recipients, TemplateId = "1", TemplateParams = [new("code", "1234")], IdempotencyKey = key,
    };

    [Fact]
    public void Request_signature_is_hash_of_key_amp_sorted_raw_pairs_amp_key()
    {
        var parameters = new Dictionary<string, string>
        {
            ["smsUser"] = "u", ["templateId"] = "1", ["phone"] = "13800000001", ["vars"] = "{\"%code%\":\"1 2&3\"}", ["signature"] = "ignored",
        };
        var plain = Encoding.UTF8.GetBytes("key&phone=13800000001&smsUser=u&templateId=1&vars={\"%code%\":\"1 2&3\"}&key");

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(plain)), SendCloudSignature.SignRequest(parameters, "key", SendCloudSignatureAlgorithm.Sha256));
#pragma warning disable CA5351
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(plain)), SendCloudSignature.SignRequest(parameters, "key", SendCloudSignatureAlgorithm.Md5));
#pragma warning restore CA5351
    }

    [Fact]
    public async Task The_accounts_label_id_goes_out_with_every_template_send_and_is_signed()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host, overrides: new Dictionary<string, string?> { ["Vendors:SendCloud:LabelId"] = "77" });

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(Template([PhoneNumber.Parse("13112345678")]));

        Assert.True(Assert.Single(receipt.Results).Accepted, receipt.Results[0].Error);
        Assert.Equal("77", VendorServices.Form(Assert.Single(host.Set.Requests.For(VendorNames.SendCloud, "/smsapi/send")))["labelId"]);
        Assert.Equal(77, Assert.Single(host.Set.SendCloud.Sent).LabelId);
        Assert.Equal("labelId", (await Assert.ThrowsAsync<VendorValidationException>(() =>
            sp.GetRequiredService<SendCloudClient>().SendAsync(new SendCloudTemplateSend(1, ["13112345678"]) { LabelId = 0 }))).Field);
    }

    [Fact]
    public async Task Send_posts_a_signed_form_with_template_vars_and_send_request_id_and_never_the_key()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        var recipient = PhoneNumber.Parse("13112345678");

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(Template([recipient], "wf-1:a-1:0"));

        var result = Assert.Single(receipt.Results);
        Assert.True(result.Accepted);
        Assert.EndsWith("$13112345678", result.MessageId, StringComparison.Ordinal);
        var request = Assert.Single(host.Set.Requests.For(VendorNames.SendCloud, "/smsapi/send"));
        var form = VendorServices.Form(request);
        Assert.Equal(SendCloudEmulator.SandboxSmsUser, form["smsUser"]);
        Assert.Equal("1", form["templateId"]);
        Assert.Equal("0", form["msgType"]);
        Assert.Equal("13112345678", form["phone"]);
        Assert.Equal("{\"code\":\"1234\"}", form["vars"]);
        Assert.Equal("wf-1:a-1:0", form["sendRequestId"]);
        Assert.Equal(64, form["signature"].Length);
        Assert.True(Math.Abs(long.Parse(form["timestamp"], System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) < 5000);
        Assert.DoesNotContain(SendCloudEmulator.SandboxSmsKey, request.Body, StringComparison.Ordinal);
        Assert.Equal("【SendCloud】您的验证码是1234，10分钟内有效。", Assert.Single(host.Set.SendCloud.Sent).Content);
    }

    [Fact]
    public async Task Md5_signatures_are_accepted_when_configured()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host, overrides: new Dictionary<string, string?> { ["Vendors:SendCloud:SignatureAlgorithm"] = "Md5" });
        var info = await sp.GetRequiredService<SendCloudClient>().SendAsync(new SendCloudTemplateSend(1, ["13800000001"]) { Tag = "{\"key1\":\"value1\"}" });
        Assert.Equal(1, info.SuccessCount);
        Assert.Equal(32, VendorServices.Form(host.Set.Requests.All[0])["signature"].Length);
        Assert.Equal("{\"key1\":\"value1\"}", host.Set.SendCloud.Sent[0].Tag);
    }

    [Fact]
    public async Task Partial_success_reports_refused_numbers_per_recipient()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        var info = await sp.GetRequiredService<SendCloudClient>().SendAsync(new SendCloudTemplateSend(1, ["13800000001", "1312222"]));

        Assert.Equal(1, info.SuccessCount);
        Assert.Equal(1, info.FailedCount);
        Assert.Equal("1312222", Assert.Single(info.Items!).Phone);
        Assert.Equal("13800000001", SendCloudSendInfo.PhoneOf(Assert.Single(info.SmsIds!)));
    }

    [Fact]
    public async Task More_than_2000_recipients_are_split_and_merged_in_order()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        var recipients = TestNumbers.Sequence(2001, "137");

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(Template(recipients, "campaign-9"));

        var calls = host.Set.Requests.For(VendorNames.SendCloud, "/smsapi/send");
        Assert.Equal([2000, 1], calls.Select(c => VendorServices.Form(c)["phone"].Split(',').Length));
        Assert.Equal(["campaign-9-0", "campaign-9-1"], calls.Select(c => VendorServices.Form(c)["sendRequestId"]));
        Assert.Equal(recipients.Select(r => r.E164), receipt.Results.Select(r => r.Mobile));
        Assert.All(receipt.Results, r => Assert.EndsWith("$" + r.Mobile[3..], r.MessageId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Same_send_request_id_within_an_hour_is_not_sent_twice()
    {
        var time = new ManualClock(DateTimeOffset.UtcNow);
        await using var host = await EmulatorHost.StartAsync(time: time);
        await using var sp = SendCloudFixture.Services(host, overrides: new Dictionary<string, string?> { ["Vendors:SendCloud:IncludeTimestamp"] = "false" });
        var sender = sp.GetRequiredService<ISmsSender>();
        var message = Template([PhoneNumber.Parse("13800000001")], "once");

        var first = await sender.SendSmsAsync(message);
        var again = await sender.SendSmsAsync(message);
        time.Advance(TimeSpan.FromMinutes(61));
        var later = await sender.SendSmsAsync(message);

        Assert.NotNull(first.Results[0].MessageId);
        Assert.True(again.Results[0].Accepted);
        Assert.Null(again.Results[0].MessageId);
        Assert.Equal("400", again.Results[0].VendorCode);
        Assert.NotNull(later.Results[0].MessageId);
        Assert.Equal(2, host.Set.SendCloud.Sent.Count);
    }

    [Fact]
    public async Task Refused_request_does_not_use_up_its_send_request_id()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        var client = sp.GetRequiredService<SendCloudClient>();
        var refused = await Assert.ThrowsAsync<VendorException>(() => client.SendAsync(new SendCloudTemplateSend(2, ["13800000001"]) { SendRequestId = "r" }));
        Assert.Equal("432", refused.VendorCode);
        Assert.Equal(1, (await client.SendAsync(new SendCloudTemplateSend(1, ["13800000001"]) { SendRequestId = "r" })).SuccessCount);
    }

    [Theory]
    [InlineData(99, "431")]
    [InlineData(2, "432")]
    public async Task Unknown_or_unapproved_templates_are_refused(int templateId, string code)
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        var ex = await Assert.ThrowsAsync<VendorException>(() => sp.GetRequiredService<SendCloudClient>().SendAsync(new SendCloudTemplateSend(templateId, ["13800000001"])));
        Assert.Equal(code, ex.VendorCode);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task Wrong_key_is_422_wrong_user_471_and_neither_is_retried_or_leaks_the_key()
    {
        await using var host = await EmulatorHost.StartAsync();
        var logs = new CapturingLoggerProvider();
        await using var wrongKey = SendCloudFixture.Services(host, logs, new Dictionary<string, string?> { ["Vendors:SendCloud:SmsKey"] = "not-the-key-0000" });
        await using var wrongUser = SendCloudFixture.Services(host, logs, new Dictionary<string, string?> { ["Vendors:SendCloud:SmsUser"] = "nobody" });
        var request = new SendCloudTemplateSend(1, ["13800000001"]);

        var badSignature = await Assert.ThrowsAsync<VendorException>(() => wrongKey.GetRequiredService<SendCloudClient>().SendAsync(request));
        var badUser = await Assert.ThrowsAsync<VendorException>(() => wrongUser.GetRequiredService<SendCloudClient>().SendAsync(request));

        Assert.Equal("422", badSignature.VendorCode);
        Assert.Equal("471", badUser.VendorCode);
        Assert.Equal(2, host.Set.Requests.For(VendorNames.SendCloud).Count);
        foreach (var secret in new[] { "not-the-key-0000", SendCloudEmulator.SandboxSmsKey, SendCloudEmulator.SandboxAppKey })
        {
            Assert.DoesNotContain(secret, badSignature.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(host.Set.Requests.All, r => r.Body.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Timestamps_more_than_6_seconds_off_are_refused_with_461()
    {
        var time = new ManualClock(DateTimeOffset.UtcNow.AddSeconds(10));
        await using var host = await EmulatorHost.StartAsync(time: time);
        await using var sp = SendCloudFixture.Services(host);
        var client = sp.GetRequiredService<SendCloudClient>();

        var ex = await Assert.ThrowsAsync<VendorException>(() => client.SendAsync(new SendCloudTemplateSend(1, ["13800000001"])));
        Assert.Equal("461", ex.VendorCode);
        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds(), (await client.GetTimestampAsync()).ToUnixTimeMilliseconds());
    }

    [Theory]
    [InlineData("smsUser", "472")]
    [InlineData("signature", "421")]
    [InlineData("phone", "411")]
    [InlineData("templateId", "433")]
    public async Task Missing_fields_get_the_documented_codes(string field, string code)
    {
        await using var host = await EmulatorHost.StartAsync();
        var form = new Dictionary<string, string> { ["smsUser"] = SendCloudEmulator.SandboxSmsUser, ["templateId"] = "1", ["phone"] = "13800000001" };
        form.Remove(field);
        var body = await SendCloudFixture.PostRawAsync(host, "smsapi/send", form, sign: field != "signature");
        Assert.Contains($"\"statusCode\":{code}", body, StringComparison.Ordinal);
        Assert.Contains("\"result\":false", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("13800000001,13800000001", "413")]
    [InlineData("1312222", "412")]
    [InlineData("1312222,1312223", "312")]
    public async Task Phone_lists_are_checked(string phones, string code)
    {
        await using var host = await EmulatorHost.StartAsync();
        var body = await SendCloudFixture.PostRawAsync(host, "smsapi/send",
            new Dictionary<string, string> { ["smsUser"] = SendCloudEmulator.SandboxSmsUser, ["templateId"] = "1", ["phone"] = phones });
        Assert.Contains($"\"statusCode\":{code}", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"code\":\"123456789012345678901234567890123\"}", "483")]
    [InlineData("not json", "441")]
    public async Task Vars_are_checked(string vars, string code)
    {
        await using var host = await EmulatorHost.StartAsync();
        var body = await SendCloudFixture.PostRawAsync(host, "smsapi/send", new Dictionary<string, string>
        {
            ["smsUser"] = SendCloudEmulator.SandboxSmsUser, ["templateId"] = "1", ["phone"] = "13800000001", ["vars"] = vars,
        });
        Assert.Contains($"\"statusCode\":{code}", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Voice_otp_goes_through_send_voice()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        var voice = sp.GetRequiredService<IVoiceOtpSender>();

        var receipt = await voice.SendVoiceOtpAsync(new VoiceOtpRequest { Recipient = PhoneNumber.Parse("13800000005"), Code = "482913", IdempotencyKey = "otp-1" });

        Assert.True(Assert.Single(receipt.Results).Accepted);
        var sent = Assert.Single(host.Set.SendCloud.Sent);
        Assert.Equal("sendVoice", sent.Api);
        Assert.Equal("otp-1", sent.SendRequestId);
        Assert.True(voice.Capabilities.HasFlag(VendorCapabilities.VoiceOtp));
        await Assert.ThrowsAsync<VendorValidationException>(() => voice.SendVoiceOtpAsync(new VoiceOtpRequest { Recipient = PhoneNumber.Parse("13800000005"), Code = "12" }));
        Assert.Single(host.Set.Requests.For(VendorNames.SendCloud));
    }

    [Fact]
    public async Task Send_code_takes_sign_id_or_sign_name_and_international_numbers()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        var client = sp.GetRequiredService<SendCloudClient>();

        await client.SendCodeAsync(new SendCloudCodeSend("13800000006", "1234") { SignId = 1, SignName = "ignored" });
        await client.SendCodeAsync(new SendCloudCodeSend("+447400123456", "5678") { MsgType = 2, SignName = "Acme" });
        var unknownSign = await Assert.ThrowsAsync<VendorException>(() => client.SendCodeAsync(new SendCloudCodeSend("13800000006", "1234") { SignId = 42 }));
        var wrongType = await Assert.ThrowsAsync<VendorException>(() => client.SendCodeAsync(new SendCloudCodeSend("13800000006", "1234") { MsgType = 2, SignId = 1 }));
        await Assert.ThrowsAsync<VendorValidationException>(() => client.SendCodeAsync(new SendCloudCodeSend("13800000006", "1234")));

        Assert.Equal(["【SendCloud】您的验证码是1234", "【Acme】您的验证码是5678"], host.Set.SendCloud.Sent.Select(s => s.Content));
        Assert.Equal(2, host.Set.SendCloud.Sent[1].MsgType);
        Assert.Equal("431", unknownSign.VendorCode);
        Assert.Equal("412", wrongType.VendorCode);
        var first = VendorServices.Form(host.Set.Requests.For(VendorNames.SendCloud, "/smsapi/sendCode")[0]);
        Assert.Equal("1", first["signId"]);
        Assert.False(first.ContainsKey("signName"));
    }

    [Fact]
    public async Task Sender_refuses_what_SendCloud_cannot_take_before_any_call()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        var sender = sp.GetRequiredService<ISmsSender>();
        var mainland = PhoneNumber.Parse("13800000001");

        Assert.Equal("text", (await Assert.ThrowsAsync<VendorValidationException>(() =>
            sender.SendSmsAsync(new SmsMessage { Recipients = [mainland], Text = "free text" }))).Field);
        Assert.Equal("templateId", (await Assert.ThrowsAsync<VendorValidationException>(() =>
            sender.SendSmsAsync(new SmsMessage { Recipients = [mainland], TemplateId = "abc" }))).Field);
        Assert.Equal("recipients", (await Assert.ThrowsAsync<VendorValidationException>(() =>
            sender.SendSmsAsync(Template([mainland, PhoneNumber.Parse("+447400123456")])))).Field);
        Assert.Equal("vars.link", (await Assert.ThrowsAsync<VendorValidationException>(() =>
            sender.SendSmsAsync(Template([mainland]) with { TemplateParams = [new("link", "https://x.y")] }))).Field);
        Assert.Equal("tag", (await Assert.ThrowsAsync<VendorValidationException>(() =>
            sp.GetRequiredService<SendCloudClient>().SendAsync(new SendCloudTemplateSend(1, ["13800000001"]) { Tag = "[1]" }))).Field);
        Assert.Empty(host.Set.Requests.For(VendorNames.SendCloud));
    }

    [Fact]
    public async Task International_recipients_go_out_as_msg_type_2_with_plus()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        var recipients = new[] { PhoneNumber.Parse("+447400123456"), PhoneNumber.Parse("+85291234567") };
        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(Template(recipients));
        Assert.All(receipt.Results, r => Assert.True(r.Accepted));
        var form = VendorServices.Form(Assert.Single(host.Set.Requests.For(VendorNames.SendCloud, "/smsapi/send")));
        Assert.Equal("2", form["msgType"]);
        Assert.Equal("+447400123456,+85291234567", form["phone"]);
    }

    [Fact]
    public async Task Server_errors_are_retried_and_slow_answers_time_out_and_are_retried()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        await using var impatient = SendCloudFixture.Services(host, overrides: new Dictionary<string, string?> { ["Vendors:SendCloud:AttemptTimeout"] = VendorServices.ShortAttemptTimeout });
        var client = sp.GetRequiredService<SendCloudClient>();

        // With a sendRequestId SendCloud drops a repeat, so even a 502 (outcome unknown) is retried.
        host.Set.SendCloud.Faults.FailNextCalls(2, 502);
        Assert.Equal(1, (await client.SendAsync(new SendCloudTemplateSend(1, ["13800000001"]) { SendRequestId = "retry-1" })).SuccessCount);
        Assert.Equal(3, host.Set.Requests.For(VendorNames.SendCloud).Count);

        host.Set.SendCloud.Faults.DelayNextCalls(1, VendorServices.SlowAnswer);
        await impatient.GetRequiredService<SendCloudClient>().GetTimestampAsync();
        Assert.Equal(5, host.Set.Requests.For(VendorNames.SendCloud).Count);

        host.Set.SendCloud.Faults.FailNextCalls(10, 500);
        var ex = await Assert.ThrowsAsync<VendorException>(() => client.SendAsync(new SendCloudTemplateSend(1, ["13800000002"])));
        Assert.True(ex.IsTransient);
        Assert.Equal(500, ex.HttpStatus);
    }

    [Fact]
    public void Missing_credentials_fail_on_start_naming_the_settings()
    {
        var config = new ConfigurationBuilder().Build();
        using var sp = new ServiceCollection().AddSendCloud(config.GetSection("Vendors:SendCloud")).BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<SendCloudOptions>>().Value);
        Assert.Contains("Vendors:SendCloud:SmsUser", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Vendors:SendCloud:SmsKey", ex.Message, StringComparison.Ordinal);
        Assert.Equal(new Uri("https://api.sendcloud.net/"), new SendCloudOptions().BaseUrl);
    }
}
