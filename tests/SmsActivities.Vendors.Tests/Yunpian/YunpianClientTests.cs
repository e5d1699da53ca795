using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Emulators;
using SmsActivities.Emulators.Yunpian;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Vendors.Tests.Yunpian;

public class YunpianClientTests
{
    [Fact]
    public async Task User_get_is_a_form_post_with_the_apikey()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var user = await sp.GetRequiredService<YunpianClient>().GetUserAsync();

        Assert.Equal(1000m, user.Balance);
        Assert.Equal("v2", user.ApiVersion);
        var request = Assert.Single(host.Set.Requests.For(VendorNames.Yunpian, "/v2/user/get.json"));
        Assert.Equal("POST", request.Method);
        Assert.StartsWith("application/x-www-form-urlencoded", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(YunpianEmulator.SandboxApiKey, VendorServices.Form(request)["apikey"]);
    }

    [Fact]
    public async Task Single_send_carries_extend_uid_callback_url_and_register_and_returns_a_64_bit_sid()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var client = sp.GetRequiredService<YunpianClient>();

        var result = await client.SingleSendAsync(new YunpianSingleSend("13812341234", "【Yunpian】Your Verify Code is 1234")
        {
            Extend = "001", Uid = "10001", CallbackUrl = new Uri("http://your_receive_url_address/"), Register = true,
        });

        Assert.Equal(0, result.Code);
        Assert.True(result.Sid > int.MaxValue);
        Assert.Equal(1, result.Count);
        Assert.Equal(0.05m, result.Fee);
        var form = VendorServices.Form(Assert.Single(host.Set.Requests.For(VendorNames.Yunpian, "/v2/sms/single_send.json")));
        Assert.Equal("13812341234", form["mobile"]);
        Assert.Equal("001", form["extend"]);
        Assert.Equal("10001", form["uid"]);
        Assert.Equal("http://your_receive_url_address/", form["callback_url"]);
        Assert.Equal("true", form["register"]);
        Assert.Equal(999.95m, host.Set.Yunpian.Balance);
    }

    [Fact]
    public async Task International_numbers_go_out_with_plus_and_country_code()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var sender = sp.GetRequiredService<ISmsSender>();

        var receipt = await sender.SendSmsAsync(new SmsMessage { Recipients = [PhoneNumber.Parse("+93701234567")], Text = "【Yunpian】Your Verify Code is 12345." });

        var result = Assert.Single(receipt.Results);
        Assert.True(result.Accepted);
        Assert.Equal("+93701234567", result.Mobile);
        var recorded = Assert.Single(host.Set.Requests.For(VendorNames.Yunpian, "/v2/sms/single_send.json"));
        Assert.Contains("mobile=%2B93701234567", recorded.Body, StringComparison.Ordinal);
        Assert.Equal("+93701234567", Assert.Single(host.Set.Yunpian.Sent).Mobile);
    }

    [Fact]
    public async Task Idempotency_key_goes_out_as_uid()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage
        {
            Recipients = [PhoneNumber.Parse("13800000001")], Text = "hello", IdempotencyKey = "wf-1:act-2:0", Extend = "01",
        });
        var sent = Assert.Single(host.Set.Yunpian.Sent);
        Assert.Equal("wf-1:act-2:0", sent.Uid);
        Assert.Equal("01", sent.Extend);
    }

    [Fact]
    public async Task More_than_1000_recipients_are_split_into_batch_sends_and_merged_in_order()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var recipients = TestNumbers.Sequence(2001).Append(PhoneNumber.Parse("+447400123456")).ToArray();

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage { Recipients = recipients, Text = "campaign", IdempotencyKey = "k" });

        var calls = host.Set.Requests.For(VendorNames.Yunpian, "/v2/sms/batch_send.json");
        Assert.Equal([1000, 1000, 2], calls.Select(c => VendorServices.Form(c)["mobile"].Split(',').Length));
        Assert.Equal(["k-0", "k-1", "k-2"], calls.Select(c => VendorServices.Form(c)["uid"]));
        Assert.Equal(recipients.Select(r => r.E164), receipt.Results.Select(r => r.Mobile));
        Assert.All(receipt.Results, r => Assert.True(r.Accepted));
        Assert.Equal(2002, receipt.Results.Select(r => r.MessageId).Distinct().Count());
        Assert.Equal(2002 * 0.05m, receipt.TotalFee);
    }

    [Fact]
    public async Task Batch_send_reports_per_number_rejections_in_place()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var client = sp.GetRequiredService<YunpianClient>();
        await client.SingleSendAsync(new YunpianSingleSend("13800000002", "same"));

        var result = await client.BatchSendAsync(new YunpianBatchSend(["13800000001", "13800000002", "12345"], "same"));

        Assert.Equal([0, 8, 2], result.Data.Select(d => d.Code));
        Assert.Equal(1, result.TotalCount);
        Assert.Equal(0.05m, result.TotalFee);
    }

    [Fact]
    public async Task Emulator_refuses_more_than_1000_numbers_with_code_2()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var http = new HttpClient();
        using var content = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["apikey"] = YunpianEmulator.SandboxApiKey,
            ["mobile"] = string.Join(',', TestNumbers.Sequence(1001).Select(n => n.NationalNumber)),
            ["text"] = "x",
        });
        using var response = await http.PostAsync(new Uri(host.BaseUrlFor(VendorNames.Yunpian), "v2/sms/batch_send.json"), content);
        Assert.Equal(400, (int)response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"http_status_code\":400", body, StringComparison.Ordinal);
        Assert.Contains("\"code\":2", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Same_text_to_the_same_number_once_per_30_seconds_and_three_times_per_5_minutes()
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 21, 8, 0, 0, TimeSpan.Zero));
        await using var host = await EmulatorHost.StartAsync(time: time);
        await using var sp = YunpianFixture.Services(host);
        var client = sp.GetRequiredService<YunpianClient>();
        var send = () => client.SingleSendAsync(new YunpianSingleSend("13800000003", "code 1234"));

        await send();
        time.Advance(TimeSpan.FromSeconds(10));
        var tooSoon = await Assert.ThrowsAsync<VendorException>(send);
        Assert.Equal("8", tooSoon.VendorCode);
        Assert.Equal(400, tooSoon.HttpStatus);
        await client.SingleSendAsync(new YunpianSingleSend("13800000003", "another text"));
        time.Advance(TimeSpan.FromSeconds(21));
        await send();
        time.Advance(TimeSpan.FromSeconds(31));
        await send();
        time.Advance(TimeSpan.FromSeconds(31));
        var tooMany = await Assert.ThrowsAsync<VendorException>(send);
        Assert.Equal("9", tooMany.VendorCode);
        Assert.False(tooMany.IsTransient);
        time.Advance(TimeSpan.FromMinutes(4));
        await send();
    }

    [Fact]
    public async Task Wrong_apikey_is_code_minus_1_not_retried_and_the_key_stays_out_of_messages_and_logs()
    {
        await using var host = await EmulatorHost.StartAsync();
        host.Set.Yunpian.ApiKey = "ffffffffffffffffffffffffffffffff";
        var logs = new CapturingLoggerProvider();
        await using var sp = YunpianFixture.Services(host, logs);

        var ex = await Assert.ThrowsAsync<VendorException>(() => sp.GetRequiredService<YunpianClient>().GetUserAsync());

        Assert.Equal("-1", ex.VendorCode);
        Assert.False(ex.IsTransient);
        Assert.Single(host.Set.Requests.For(VendorNames.Yunpian));
        Assert.DoesNotContain(YunpianEmulator.SandboxApiKey, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Lines, l => l.Contains(YunpianEmulator.SandboxApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff()
    {
        await using var host = await EmulatorHost.StartAsync();
        var logs = new CapturingLoggerProvider();
        await using var sp = YunpianFixture.Services(host, logs);
        host.Set.Yunpian.Faults.FailNextCalls(2, 503);

        var user = await sp.GetRequiredService<YunpianClient>().GetUserAsync();

        Assert.Equal("sandbox", user.Nick);
        Assert.Equal(3, host.Set.Requests.For(VendorNames.Yunpian).Count);
        Assert.DoesNotContain(logs.Lines, l => l.Contains(YunpianEmulator.SandboxApiKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Persistent_server_errors_end_in_a_transient_vendor_error_that_marks_recipients_retryable()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        host.Set.Yunpian.Faults.FailNextCalls(10);

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage { Recipients = TestNumbers.Sequence(1), Text = "hi" });

        var result = Assert.Single(receipt.Results);
        Assert.False(result.Accepted);
        Assert.True(result.Retryable);
        Assert.Equal(3, host.Set.Requests.For(VendorNames.Yunpian).Count);
    }

    [Fact]
    public async Task A_slow_answer_times_out_and_is_retried()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host, overrides: new Dictionary<string, string?> { ["Vendors:Yunpian:AttemptTimeout"] = VendorServices.ShortAttemptTimeout });
        host.Set.Yunpian.Faults.DelayNextCalls(1, VendorServices.SlowAnswer);

        var user = await sp.GetRequiredService<YunpianClient>().GetUserAsync();

        Assert.Equal("sandbox", user.Nick);
        Assert.Equal(2, host.Set.Requests.For(VendorNames.Yunpian).Count);
    }

    [Fact]
    public async Task Bad_input_is_refused_before_any_call()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var sender = sp.GetRequiredService<ISmsSender>();

        var tooLong = await Assert.ThrowsAsync<VendorValidationException>(() =>
            sender.SendSmsAsync(new SmsMessage { Recipients = TestNumbers.Sequence(1), Text = new string('a', 501) }));
        Assert.Equal("text", tooLong.Field);
        var template = await Assert.ThrowsAsync<VendorValidationException>(() =>
            sender.SendSmsAsync(new SmsMessage { Recipients = TestNumbers.Sequence(1), TemplateId = "SMS_1" }));
        Assert.Equal("templateId", template.Field);
        await Assert.ThrowsAsync<VendorValidationException>(() =>
            sp.GetRequiredService<YunpianClient>().PullStatusAsync(101));
        Assert.Empty(host.Set.Requests.For(VendorNames.Yunpian));
        Assert.Equal(500, sender.MaxTextLength);
        Assert.Equal(1000, sender.MaxRecipientsPerCall);
    }

    [Fact]
    public async Task Emulator_rejects_missing_and_malformed_fields_with_documented_codes()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var client = sp.GetRequiredService<YunpianClient>();

        var missing = await Assert.ThrowsAsync<VendorException>(() => client.SingleSendAsync(new YunpianSingleSend("13800000001", "")));
        Assert.Equal("1", missing.VendorCode);
        Assert.Contains("text", missing.VendorMessage, StringComparison.Ordinal);
        var badNumber = await Assert.ThrowsAsync<VendorException>(() => client.SingleSendAsync(new YunpianSingleSend("93701234567", "x")));
        Assert.Equal("2", badNumber.VendorCode);
    }

    [Fact]
    public void Missing_apikey_fails_on_start_naming_the_setting()
    {
        var config = new ConfigurationBuilder().Build();
        using var sp = new ServiceCollection().AddYunpian(config.GetSection("Vendors:Yunpian")).BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<YunpianOptions>>().Value);
        Assert.Contains("Vendors:Yunpian:ApiKey", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "https://sms.yunpian.com/")]
    [InlineData("Us", "https://us.yunpian.com/")]
    public void Region_picks_the_public_host(string? region, string expected)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ApiKey"] = "k", ["Region"] = region,
        }).Build();
        using var sp = new ServiceCollection().AddYunpian(config).BuildServiceProvider();
        Assert.Equal(new Uri(expected), sp.GetRequiredService<IOptions<YunpianOptions>>().Value.BaseUrl);
    }
}
