using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Emulators;
using SmsActivities.Emulators.Yunpian;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Vendors.Tests.Yunpian;

public class YunpianWebhookTests
{
    private const string ApiKey = "9b11127a9701975c734b8aee81ee3526";

    // The doc's status sample, with its closing "}" corrected to "]".
    private const string DocStatusJson = """
        [{"sid": 9527, "uid": null, "user_receive_time": "2014-03-17 22:55:21", "error_msg": "", "mobile": "15205201314", "report_status": "SUCCESS"},
         {"sid": 9528, "uid": null, "user_receive_time": "2014-03-17 22:55:23", "error_msg": "", "mobile": "15212341234", "report_status": "SUCCESS"}]
        """;

    // The doc's status sample exactly as printed: the array is closed with "}".
    private const string DocStatusJsonAsPrinted = """
        [{"sid": 9527, "uid": null, "user_receive_time": "2014-03-17 22:55:21", "error_msg": "", "mobile": "15205201314", "report_status": "SUCCESS"},
         {"sid": 9528, "uid": null, "user_receive_time": "2014-03-17 22:55:23", "error_msg": "", "mobile": "15212341234", "report_status": "SUCCESS"}}
        """;

    private static readonly Dictionary<string, string?> DocReply = new()
    {
        ["id"] = "2a70c6bb4f2845da816ea1bfe5732747", ["mobile"] = "15205201314", ["reply_time"] = "2014-03-17 22:55:21",
        ["text"] = "copy that, over", ["extend"] = "01", ["base_extend"] = "8888",
    };

    private static YunpianReplyReader ReplyReader(string apiKey = ApiKey) => new(Options.Create(new YunpianOptions { ApiKey = apiKey }));

    private static string SignedReplyJson(Dictionary<string, string?> fields, string apiKey = ApiKey)
    {
        var signed = new Dictionary<string, string?>(fields) { ["_sign"] = YunpianReplySignature.Compute(fields, apiKey) };
        return System.Text.Json.JsonSerializer.Serialize(signed);
    }

    [Fact]
    public void Status_push_from_the_doc_reads_as_two_delivered_reports_and_is_acknowledged_with_SUCCESS()
    {
        var result = new YunpianStatusReader().Read(WebhookRequest.Form("sms_status=" + Uri.EscapeDataString(DocStatusJson)));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal("SUCCESS", result.Acknowledgement.Body);
        Assert.Equal(200, result.Acknowledgement.StatusCode);
        Assert.Equal(["9527", "9528"], result.Reports.Select(r => r.MessageId));
        Assert.Equal(["+8615205201314", "+8615212341234"], result.Reports.Select(r => r.Mobile));
        Assert.All(result.Reports, r => Assert.Equal(DeliveryStatus.Delivered, r.Status));
        Assert.Equal(new DateTimeOffset(2014, 3, 17, 22, 55, 21, TimeSpan.FromHours(8)), result.Reports[0].ReportedAt);
    }

    [Fact]
    public void Double_encoded_status_push_is_read_too()
    {
        var twice = Uri.EscapeDataString(Uri.EscapeDataString(DocStatusJson));
        var result = new YunpianStatusReader().Read(WebhookRequest.Form("sms_status=" + twice));
        Assert.True(result.IsValid, result.Error);
        Assert.Equal(2, result.Reports.Count);
    }

    [Fact]
    public void Failed_and_unknown_statuses_keep_the_error_code()
    {
        const string json = """[{"sid":16741236146001,"uid":"u1","user_receive_time":"2026-11-21 10:00:00","error_msg":"UNDELIV","mobile":"+447400123456","report_status":"FAIL"},{"sid":2,"uid":null,"user_receive_time":"","error_msg":"","mobile":"13800000001","report_status":"UNKNOWN"}]""";
        var result = new YunpianStatusReader().Read(WebhookRequest.Form("sms_status=" + Uri.EscapeDataString(json)));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(DeliveryStatus.Failed, result.Reports[0].Status);
        Assert.Equal("16741236146001", result.Reports[0].MessageId);
        Assert.Equal("UNDELIV", result.Reports[0].VendorCode);
        Assert.Equal("+447400123456", result.Reports[0].Mobile);
        Assert.Equal(DeliveryStatus.Unknown, result.Reports[1].Status);
        // The caller's uid comes back as the report's client reference (none when the send gave none).
        Assert.Equal("u1", result.Reports[0].ClientReference);
        Assert.Null(result.Reports[1].ClientReference);
    }

    [Theory]
    [InlineData("sms_status=" + "%5B%7B%22sid%22%3A1%7D", 400)] // truncated JSON
    [InlineData("sms_reply=%5B%5D", 400)] // wrong field
    [InlineData("", 400)]
    [InlineData("sms_status=%5B%5D", 400)] // no records
    [InlineData("sms_status=%5B%7B%22mobile%22%3A%2213800000001%22%7D%5D", 400)] // no sid
    [InlineData("sms_status=%5B%7B%22sid%22%3A%22abc%22%7D%5D", 400)] // sid not a number
    public void Malformed_status_pushes_are_rejected_without_throwing(string body, int status)
    {
        var result = new YunpianStatusReader().Read(WebhookRequest.Form(body));
        Assert.False(result.IsValid);
        Assert.Equal(status, result.RejectStatus);
        Assert.False(string.IsNullOrWhiteSpace(result.Error));
    }

    [Fact]
    public void The_docs_status_sample_as_printed_is_rejected_as_invalid_json()
    {
        var result = new YunpianStatusReader().Read(WebhookRequest.Form("sms_status=" + Uri.EscapeDataString(DocStatusJsonAsPrinted)));
        Assert.False(result.IsValid);
        Assert.Contains("not valid JSON", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Signed_reply_push_from_the_doc_is_read_and_acknowledged()
    {
        var result = ReplyReader().Read(WebhookRequest.Form("sms_reply=" + Uri.EscapeDataString(SignedReplyJson(DocReply))));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal("SUCCESS", result.Acknowledgement.Body);
        var reply = Assert.Single(result.Replies);
        Assert.Equal("+8615205201314", reply.Mobile);
        Assert.Equal("copy that, over", reply.Text);
        Assert.Equal("01", reply.Extend);
        Assert.Equal("2a70c6bb4f2845da816ea1bfe5732747", reply.VendorReplyId);
    }

    [Fact]
    public void Reply_sign_is_md5_of_sorted_values_joined_by_comma_then_apikey()
    {
        // base_extend, extend, id, mobile, reply_time, text
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(
            "8888,01,2a70c6bb4f2845da816ea1bfe5732747,15205201314,2014-03-17 22:55:21,copy that, over," + ApiKey)));
        Assert.Equal(expected, YunpianReplySignature.Compute(DocReply, ApiKey));
    }

    [Fact]
    public void Reply_without_or_with_a_wrong_sign_is_refused_with_401_and_no_secret_in_the_reason()
    {
        var unsigned = ReplyReader().Read(WebhookRequest.Form("sms_reply=" + Uri.EscapeDataString(System.Text.Json.JsonSerializer.Serialize(DocReply))));
        var forged = ReplyReader().Read(WebhookRequest.Form("sms_reply=" + Uri.EscapeDataString(SignedReplyJson(DocReply, "another-key"))));
        var tampered = ReplyReader().Read(WebhookRequest.Form("sms_reply=" + Uri.EscapeDataString(
            SignedReplyJson(DocReply).Replace("copy that, over", "STOP", StringComparison.Ordinal))));

        foreach (var result in new[] { unsigned, forged, tampered })
        {
            Assert.False(result.IsValid);
            Assert.Equal(401, result.RejectStatus);
            Assert.DoesNotContain(ApiKey, result.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("sms_reply=not-json")]
    [InlineData("sms_reply=%5B%5D")]
    [InlineData("other=1")]
    public void Malformed_reply_pushes_are_rejected_with_400(string body)
    {
        var result = ReplyReader().Read(WebhookRequest.Form(body));
        Assert.False(result.IsValid);
        Assert.Equal(400, result.RejectStatus);
    }

    [Fact]
    public void Get_requests_are_rejected()
    {
        var request = WebhookRequest.Form("sms_status=" + Uri.EscapeDataString(DocStatusJson)) with { Method = "GET" };
        Assert.False(new YunpianStatusReader().Read(request).IsValid);
    }

    [Fact]
    public async Task Status_pushes_are_retried_until_the_body_is_exactly_SUCCESS()
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        await using var sp = YunpianFixture.Services(host);
        await using var receiver = await PushReceiver.StartAsync(sp.GetRequiredService<YunpianStatusReader>(), refuseFirst: 2);
        host.Set.Yunpian.StatusCallbackUrl = receiver.Url();
        var failing = PhoneNumber.Parse("13800000009");
        host.Set.Yunpian.Script.For(failing.E164, DeliveryPlan.Fail("UNDELIV"));

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage { Recipients = [failing], Text = "hi", IdempotencyKey = "uid-7" });
        await receiver.WaitForAsync(3);
        await host.Set.SettleAsync();

        var attempts = host.Set.Pushes.Attempts.Where(a => a.Vendor == VendorNames.Yunpian).ToArray();
        Assert.Equal([false, false, true], attempts.Select(a => a.Acknowledged));
        Assert.StartsWith("sms_status=", attempts[0].Body, StringComparison.Ordinal);
        var report = Assert.Single(receiver.Results[^1].Reports);
        Assert.Equal(receipt.Results[0].MessageId, report.MessageId);
        Assert.Equal(DeliveryStatus.Failed, report.Status);
        Assert.Equal("UNDELIV", report.VendorCode);
        Assert.Equal(failing.E164, report.Mobile);
    }

    [Fact]
    public async Task Status_push_gives_up_after_three_retries()
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.0005;
        await using var sp = YunpianFixture.Services(host);
        await using var receiver = await PushReceiver.StartAsync(sp.GetRequiredService<YunpianStatusReader>(), refuseFirst: 100);
        await sp.GetRequiredService<YunpianClient>().SingleSendAsync(
            new YunpianSingleSend("13800000008", "hi") { CallbackUrl = receiver.Url() });

        await receiver.WaitForAsync(4);
        await host.Set.SettleAsync();
        Assert.Equal(4, host.Set.Pushes.Attempts.Count(a => a.Kind == "status"));
    }

    [Fact]
    public async Task Reply_pushes_are_signed_double_encoded_when_asked_and_retried_five_times()
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        host.Set.Yunpian.DoubleEncodePushes = true;
        await using var sp = YunpianFixture.Services(host);
        await using var receiver = await PushReceiver.StartAsync(sp.GetRequiredService<YunpianReplyReader>(), refuseFirst: 5);
        host.Set.Yunpian.ReplyCallbackUrl = receiver.Url();

        host.Set.Yunpian.InjectReply(new HandsetReply("+8613800000007", "退订 STOP", "01"));
        await receiver.WaitForAsync(6);
        await host.Set.SettleAsync();

        Assert.Equal(6, host.Set.Pushes.Attempts.Count(a => a.Kind == "reply"));
        Assert.True(host.Set.Pushes.Attempts[^1].Acknowledged);
        Assert.Contains("%25", host.Set.Pushes.Attempts[0].Body, StringComparison.Ordinal);
        var reply = Assert.Single(receiver.Results[^1].Replies);
        Assert.Equal("+8613800000007", reply.Mobile);
        Assert.Equal("退订 STOP", reply.Text);
        Assert.Equal("01", reply.Extend);
    }

    [Fact]
    public async Task Without_push_urls_reports_and_replies_are_pulled_once_each()
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        await using var sp = YunpianFixture.Services(host);
        var sender = sp.GetRequiredService<YunpianSmsSender>();
        var numbers = TestNumbers.Sequence(3);
        host.Set.Yunpian.Script.For(numbers[2].E164, DeliveryPlan.NeverReport);

        var receipt = await sender.SendSmsAsync(new SmsMessage { Recipients = numbers, Text = "hello" });
        host.Set.Yunpian.InjectReply(new HandsetReply("+8613900000001", "yes"));
        await host.Set.SettleAsync();

        var reports = await sender.PullDeliveryReportsAsync();
        Assert.Equal(receipt.Results.Take(2).Select(r => r.MessageId).Order(), reports.Select(r => r.MessageId).Order());
        Assert.All(reports, r => Assert.Equal(DeliveryStatus.Delivered, r.Status));
        var reply = Assert.Single(await sender.PullRepliesAsync());
        Assert.Equal("yes", reply.Text);
        Assert.Equal("+8613900000001", reply.Mobile);

        Assert.Empty(await sender.PullDeliveryReportsAsync());
        Assert.Empty(await sender.PullRepliesAsync());
        var pullForm = VendorServices.Form(host.Set.Requests.For(VendorNames.Yunpian, "/v2/sms/pull_status.json")[0]);
        Assert.Equal("100", pullForm["page_size"]);
    }

    [Fact]
    public async Task Sandbox_controls_script_outcomes_and_inject_replies_over_http()
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        await using var sp = YunpianFixture.Services(host);
        var sender = sp.GetRequiredService<YunpianSmsSender>();
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(VendorNames.Yunpian) };

        using var script = await http.PutAsync(new Uri("_script/+8613800000011", UriKind.Relative),
            System.Net.Http.Json.JsonContent.Create(new { outcome = (int)DeliveryOutcome.Failed, afterMs = 10, failureCode = "MK:0001" }));
        Assert.Equal(204, (int)script.StatusCode);
        using var handset = await http.PostAsync(new Uri("_handset/replies", UriKind.Relative),
            System.Net.Http.Json.JsonContent.Create(new { mobile = "13800000011", text = "TD" }));
        Assert.Equal(202, (int)handset.StatusCode);
        await sender.SendSmsAsync(new SmsMessage { Recipients = [PhoneNumber.Parse("13800000011")], Text = "hi" });
        await host.Set.SettleAsync();

        var report = Assert.Single(await sender.PullDeliveryReportsAsync());
        Assert.Equal(DeliveryStatus.Failed, report.Status);
        Assert.Equal("MK:0001", report.VendorCode);
        Assert.Equal("TD", Assert.Single(await sender.PullRepliesAsync()).Text);
    }

    [Fact]
    public async Task Pull_status_honours_page_size()
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        await using var sp = YunpianFixture.Services(host);
        var client = sp.GetRequiredService<YunpianClient>();
        await client.BatchSendAsync(new YunpianBatchSend(TestNumbers.Sequence(5).Select(n => n.NationalNumber).ToArray(), "x") { Uid = "u" });
        await host.Set.SettleAsync();

        var first = await client.PullStatusAsync(3);
        var rest = await client.PullStatusAsync(3);
        Assert.Equal(3, first.Count);
        Assert.Equal(2, rest.Count);
        Assert.All(first.Concat(rest), r => Assert.Equal("u", r.Uid));
    }

    [Fact]
    public void Readers_are_registered_for_enumeration()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { ["ApiKey"] = "k" }).Build();
        using var sp = new ServiceCollection().AddYunpian(config).BuildServiceProvider();
        var readers = sp.GetServices<IWebhookReader>().Where(r => r.Vendor == VendorNames.Yunpian).Select(r => r.Kind);
        Assert.Equal(["status", "reply"], readers);
    }
}
