using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Emulators;
using SmsActivities.Emulators.SendCloud;
using SmsActivities.Vendors.SendCloud;

namespace SmsActivities.Vendors.Tests.SendCloud;

public class SendCloudSmsHookTests
{
    private const string AppKey = "app-key-for-tests";
    private const string Timestamp = "1458113381893";
    private const string Token = "vXm3b2Qb9wzyQeY1aOpKN0tS3yqB6JvX0eF7hUdLkcGrIi8sT5";

    /// <summary>The moment <see cref="Timestamp"/> names: the pushes below are fresh.</summary>
    private static readonly DateTimeOffset SignedAt = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(Timestamp, System.Globalization.CultureInfo.InvariantCulture));

    private static SendCloudSmsHookReader Reader(string? appKey = AppKey, string smsKey = "sms-key", TimeProvider? clock = null, TimeSpan? freshness = null)
    {
        var options = new SendCloudOptions { SmsUser = "u", SmsKey = smsKey, AppKey = appKey };
        if (freshness is { } window) options.HookFreshness = window;
        return new(Options.Create(options), clock ?? new ManualClock(SignedAt));
    }

    private static string Signed(string key, params (string Name, string Value)[] fields) => SignedWith(key, Timestamp, fields);

    private static string SignedWith(string key, string timestamp, params (string Name, string Value)[] fields)
    {
        (string Name, string Value)[] trailer = [("timestamp", timestamp), ("token", Token), ("signature", SendCloudSignature.SignHook(key, timestamp, Token))];
        var all = fields.Concat(trailer);
        return string.Join('&', all.Select(f => Uri.EscapeDataString(f.Name) + "=" + Uri.EscapeDataString(f.Value)));
    }

    [Fact]
    public void Hook_signature_is_hex_hmac_sha256_of_timestamp_and_token_keyed_by_the_app_key()
    {
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(AppKey), Encoding.UTF8.GetBytes(Timestamp + Token)));
        Assert.Equal(expected, SendCloudSignature.SignHook(AppKey, Timestamp, Token));
    }

    [Fact]
    public void Deliver_event_reads_as_a_delivered_report()
    {
        var result = Reader().Read(WebhookRequest.Form(Signed(AppKey,
            ("event", "deliver"), ("smsId", "1458113381893_15_3_11_1ainnq$13112345678"), ("phone", "13112345678"), ("statusCode", "200"), ("message", "送达"))));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(200, result.Acknowledgement.StatusCode);
        var report = Assert.Single(result.Reports);
        Assert.Equal("1458113381893_15_3_11_1ainnq$13112345678", report.MessageId);
        Assert.Equal("+8613112345678", report.Mobile);
        Assert.Equal(DeliveryStatus.Delivered, report.Status);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1458113381893), report.ReportedAt);
    }

    [Theory]
    [InlineData("workererror", "410")]
    [InlineData("delivererror", "510")]
    public void Error_events_read_as_failed_reports_with_the_hook_code(string ev, string code)
    {
        var result = Reader().Read(WebhookRequest.Form(Signed(AppKey, ("event", ev), ("smsId", "x$13112345678"), ("phone", "13112345678"), ("statusCode", code), ("message", "失败"))));
        var report = Assert.Single(result.Reports);
        Assert.Equal(DeliveryStatus.Failed, report.Status);
        Assert.Equal(code, report.VendorCode);
        Assert.Equal("失败", report.Description);
    }

    [Fact]
    public void Reply_event_reads_as_an_inbound_reply()
    {
        var result = Reader().Read(WebhookRequest.Form(Signed(AppKey, ("event", "reply"), ("phone", "+447400123456"), ("content", "STOP"))));
        var reply = Assert.Single(result.Replies);
        Assert.Equal("+447400123456", reply.Mobile);
        Assert.Equal("STOP", reply.Text);
    }

    [Fact]
    public void Request_and_unknown_events_are_taken_without_content()
    {
        var result = Reader().Read(WebhookRequest.Form(Signed(AppKey, ("event", "request"), ("smsId", "x$13112345678"), ("phone", "13112345678"))));
        Assert.True(result.IsValid);
        Assert.Empty(result.Reports);
    }

    [Fact]
    public void Without_an_app_key_the_sms_key_checks_the_signature()
    {
        var result = Reader(appKey: null, smsKey: "sms-key").Read(WebhookRequest.Form(Signed("sms-key", ("event", "reply"), ("phone", "13112345678"), ("content", "hi"))));
        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public void Unsigned_forged_or_tampered_pushes_are_refused_with_401_and_no_secret()
    {
        var forged = Reader().Read(WebhookRequest.Form(Signed("other-key", ("event", "reply"), ("phone", "13112345678"), ("content", "hi"))));
        var unsigned = Reader().Read(WebhookRequest.Form("event=reply&phone=13112345678&content=hi&timestamp=1&token=t"));
        var tampered = Reader().Read(WebhookRequest.Form(Signed(AppKey, ("event", "reply"), ("phone", "13112345678"), ("content", "hi"))
            .Replace(Timestamp, "1458113381894", StringComparison.Ordinal)));
        foreach (var result in new[] { forged, unsigned, tampered })
        {
            Assert.False(result.IsValid);
            Assert.Equal(401, result.RejectStatus);
            Assert.DoesNotContain(AppKey, result.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(-11 * 60)]
    [InlineData(11 * 60)]
    [InlineData(-6 * 365 * 24 * 3600)] // a signature captured years ago
    public void A_push_whose_timestamp_is_outside_the_freshness_window_is_refused_with_401(int secondsFromNow)
    {
        var clock = new ManualClock(SignedAt.AddSeconds(-secondsFromNow));

        var result = Reader(clock: clock).Read(WebhookRequest.Form(Signed(AppKey, ("event", "reply"), ("phone", "13112345678"), ("content", "STOP"))));

        Assert.False(result.IsValid);
        Assert.Equal(401, result.RejectStatus);
        Assert.Contains("timestamp", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fresh_push_is_read_with_its_signature_as_a_one_time_key_kept_until_the_window_closes()
    {
        var clock = new ManualClock(SignedAt.AddMinutes(9));

        var result = Reader(clock: clock).Read(WebhookRequest.Form(Signed(AppKey, ("event", "reply"), ("phone", "13112345678"), ("content", "hi"))));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal("sendcloud:" + SendCloudSignature.SignHook(AppKey, Timestamp, Token), result.OneTimeKey?.Key);
        Assert.Equal(SignedAt.AddMinutes(10), result.OneTimeKey?.KeepUntil);
    }

    [Fact]
    public void The_freshness_window_is_configurable()
    {
        var clock = new ManualClock(SignedAt.AddMinutes(2));
        var push = WebhookRequest.Form(Signed(AppKey, ("event", "reply"), ("phone", "13112345678"), ("content", "hi")));

        Assert.Equal(401, Reader(clock: clock, freshness: TimeSpan.FromMinutes(1)).Read(push).RejectStatus);
        Assert.True(Reader(clock: clock, freshness: TimeSpan.FromMinutes(3)).Read(push).IsValid);
    }

    [Theory]
    [InlineData("phone", "13112345678")] // no event
    [InlineData("event", "deliver")] // no phone
    public void Malformed_pushes_are_refused_with_400(string name, string value)
    {
        var result = Reader().Read(WebhookRequest.Form(Signed(AppKey, (name, value))));
        Assert.False(result.IsValid);
        Assert.Equal(400, result.RejectStatus);
    }

    [Fact]
    public void Report_without_sms_id_and_get_requests_are_refused()
    {
        Assert.False(Reader().Read(WebhookRequest.Form(Signed(AppKey, ("event", "deliver"), ("phone", "13112345678")))).IsValid);
        Assert.False(Reader().Read(WebhookRequest.Form(Signed(AppKey, ("event", "reply"), ("phone", "13112345678"), ("content", "x"))) with { Method = "GET" }).IsValid);
        Assert.False(Reader().Read(WebhookRequest.Form("%%%")).IsValid);
    }

    [Fact]
    public async Task Emulator_pushes_signed_reports_and_retries_until_a_2xx()
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        await using var sp = SendCloudFixture.Services(host);
        await using var receiver = await PushReceiver.StartAsync(sp.GetRequiredService<SendCloudSmsHookReader>(), refuseFirst: 2);
        host.Set.SendCloud.DeliveryHookUrl = receiver.Url();
        var failing = PhoneNumber.Parse("13800000002");
        host.Set.SendCloud.Script.For(failing.E164, DeliveryPlan.Fail("510"));

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage
        {
            Recipients = [PhoneNumber.Parse("13800000001"), failing], TemplateId = "1", TemplateParams = [new("code", "1234")],
        });
        await receiver.WaitForAsync(4);
        await host.Set.SettleAsync();

        var reports = receiver.Results.Where(r => r.IsValid).SelectMany(r => r.Reports).DistinctBy(r => r.MessageId).ToDictionary(r => r.Mobile!);
        Assert.Equal(DeliveryStatus.Delivered, reports["+8613800000001"].Status);
        Assert.Equal(receipt.Results[0].MessageId, reports["+8613800000001"].MessageId);
        Assert.Equal(DeliveryStatus.Failed, reports[failing.E164].Status);
        Assert.Equal("510", reports[failing.E164].VendorCode);
        Assert.Equal(4, host.Set.Pushes.Attempts.Count(a => a.Vendor == VendorNames.SendCloud));
        Assert.Equal(2, host.Set.Pushes.Attempts.Count(a => a.Vendor == VendorNames.SendCloud && a.Acknowledged));
    }

    [Fact]
    public async Task Over_long_content_is_reported_as_workererror_460()
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        await using var sp = SendCloudFixture.Services(host);
        await using var receiver = await PushReceiver.StartAsync(sp.GetRequiredService<SendCloudSmsHookReader>());
        host.Set.SendCloud.DeliveryHookUrl = receiver.Url();
        host.Set.SendCloud.Templates[9] = new SendCloudTemplate(new string('长', 498) + "%n%");

        await sp.GetRequiredService<SendCloudClient>().SendAsync(new SendCloudTemplateSend(9, ["13800000003"]) { Vars = new Dictionary<string, string> { ["n"] = "1234" } });
        var report = Assert.Single((await receiver.WaitForAsync(1))[0].Read!.Reports);
        await host.Set.SettleAsync();

        Assert.Equal(DeliveryStatus.Failed, report.Status);
        Assert.Equal("460", report.VendorCode);
        Assert.Contains("event=workererror", host.Set.Pushes.Attempts[0].Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handset_replies_are_pushed_to_the_reply_hook_or_kept()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = SendCloudFixture.Services(host);
        host.Set.SendCloud.InjectReply(new HandsetReply("+8613800000004", "kept"));
        Assert.Equal("kept", Assert.Single(host.Set.SendCloud.UnpushedReplies).Text);

        await using var receiver = await PushReceiver.StartAsync(sp.GetRequiredService<SendCloudSmsHookReader>());
        host.Set.SendCloud.ReplyHookUrl = receiver.Url();
        host.Set.SendCloud.InjectReply(new HandsetReply("+8613800000004", "好的 YES", "77"));
        var reply = Assert.Single((await receiver.WaitForAsync(1))[0].Read!.Replies);
        await host.Set.SettleAsync();

        Assert.Equal("+8613800000004", reply.Mobile);
        Assert.Equal("好的 YES", reply.Text);
        Assert.Equal("77", reply.Extend);
        var body = host.Set.Pushes.Attempts[0].Body;
        Assert.Contains("signature=", body, StringComparison.Ordinal);
        Assert.DoesNotContain(SendCloudEmulator.SandboxAppKey, body, StringComparison.Ordinal);
    }

    [Fact]
    public void Reader_is_registered_for_enumeration()
    {
        var config = new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build();
        using var sp = new ServiceCollection().AddSendCloud(config).BuildServiceProvider();
        var reader = Assert.Single(sp.GetServices<IWebhookReader>());
        Assert.Equal((VendorNames.SendCloud, "smshook"), (reader.Vendor, reader.Kind));
    }
}
