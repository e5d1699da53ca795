using System.Text.Json;
using System.Web;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;
using SmsActivities.Emulators.Yaningai;
using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Vendors.Tests.Yaningai;

public class YaningaiSmsTests
{
    internal static async Task<EmulatorHost> StartAsync()
    {
        var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        host.Set.Yaningai.CodeIds[YaningaiTestKit.IndonesiaCodeId] = 62;
        return host;
    }

    [Fact]
    public async Task Sms_is_posted_as_json_with_account_sign_and_datetime_in_the_query()
    {
        await using var host = await StartAsync();
        var emulator = host.Set.Yaningai;
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<YaningaiSender>();

        var receipt = await sender.SendSmsAsync(new SmsMessage
        {
            Recipients = TestNumbers.Of("+8613611111111", "+8613722222222"),
            Text = "helloworld",
            Kind = SmsKind.Marketing,
        });

        Assert.Equal(2, receipt.AcceptedCount);
        Assert.Equal(["+8613611111111", "+8613722222222"], receipt.Results.Select(r => r.Mobile));
        Assert.Equal(emulator.Messages.Select(m => m.MessageId).Order(), receipt.Results.Select(r => r.MessageId!).Order());
        Assert.NotNull(receipt.BatchId);

        var call = Assert.Single(host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/sms/sendbatchsms"));
        Assert.Equal("POST", call.Method);
        Assert.StartsWith("application/json", call.Headers["Content-Type"], StringComparison.Ordinal);
        var query = HttpUtility.ParseQueryString(call.QueryString);
        Assert.Equal(YaningaiEmulator.SandboxAccount, query["account"]);
        var datetime = long.Parse(query["datetime"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(datetime, DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal(YaningaiSigner.Sign(YaningaiEmulator.SandboxAccount, YaningaiEmulator.SandboxApiKey, datetime), query["sign"]);

        using var body = JsonDocument.Parse(call.Body);
        Assert.Equal("13611111111,13722222222", body.RootElement.GetProperty("numbers").GetString());
        Assert.Equal("helloworld", body.RootElement.GetProperty("content").GetString());
        Assert.Equal("10001", body.RootElement.GetProperty("codeId").GetString());
        Assert.Equal("MARKETING", body.RootElement.GetProperty("action").GetString());
        Assert.False(body.RootElement.TryGetProperty("account", out _));
        Assert.False(body.RootElement.TryGetProperty("sign", out _));
    }

    [Fact]
    public async Task Get_carries_every_parameter_in_the_query_and_is_limited_to_1000_numbers()
    {
        await using var host = await StartAsync();
        var emulator = host.Set.Yaningai;
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var client = services.GetRequiredService<YaningaiClient>();

        var result = await client.SendBatchSmsAsync(new YaningaiSmsRequest
        {
            Numbers = ["82111116504", "85111118094"],
            CodeId = YaningaiTestKit.IndonesiaCodeId,
            Action = YaningaiAction.Verify,
            TemplateId = "T1",
            TemplateParams = ["1234", "5"],
        }, YaningaiSmsMethod.Get);

        Assert.Equal(0, result.Status);
        Assert.Equal(["6282111116504", "6285111118094"], result.Accepted.Select(a => a.Target));
        var call = Assert.Single(host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/sms/sendbatchsms"));
        Assert.Equal("GET", call.Method);
        var query = HttpUtility.ParseQueryString(call.QueryString);
        Assert.Equal("82111116504,85111118094", query["numbers"]);
        Assert.Equal("VERIFY", query["action"]);
        Assert.Equal("1234,5", query["templateParams[]"]);
        Assert.Equal(["1234", "5"], emulator.Messages[0].TemplateParams);

        var tooMany = new YaningaiSmsRequest { Numbers = Enumerable.Range(0, 1001).Select(i => $"8211{i:D7}").ToArray(), CodeId = "10062", Action = YaningaiAction.Marketing, Content = "x" };
        var ex = await Assert.ThrowsAsync<VendorValidationException>(() => client.SendBatchSmsAsync(tooMany, YaningaiSmsMethod.Get));
        Assert.Equal("numbers", ex.Field);
        Assert.Single(host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/sms/sendbatchsms"));
    }

    [Fact]
    public async Task Over_10000_recipients_are_split_and_merged_in_caller_order()
    {
        await using var host = await StartAsync();
        var emulator = host.Set.Yaningai;
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<ISmsSender>();
        var recipients = Enumerable.Range(0, 10_003).Select(i => PhoneNumber.Parse($"+86139{i:D8}")).ToArray();

        var receipt = await sender.SendSmsAsync(new SmsMessage { Recipients = recipients, Text = "campaign", Kind = SmsKind.Marketing });

        Assert.Equal(10_003, receipt.AcceptedCount);
        Assert.Equal(recipients.Select(r => r.E164), receipt.Results.Select(r => r.Mobile));
        Assert.Equal(2, host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/sms/sendbatchsms").Count);
        var idByMobile = emulator.Messages.ToDictionary(m => m.Mobile, m => m.MessageId);
        Assert.All(receipt.Results, r => Assert.Equal(idByMobile[r.Mobile], r.MessageId));
    }

    [Fact]
    public async Task Countries_go_in_separate_calls_with_their_codeId_and_results_keep_caller_order()
    {
        await using var host = await StartAsync();
        var emulator = host.Set.Yaningai;
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<ISmsSender>();
        emulator.Blacklist("+8613900000002");

        var receipt = await sender.SendSmsAsync(new SmsMessage
        {
            Recipients = TestNumbers.Of("+8613900000001", "+6282111116504", "+8613900000002"),
            Text = "hi",
        });

        Assert.Equal(["+8613900000001", "+6282111116504", "+8613900000002"], receipt.Results.Select(r => r.Mobile));
        Assert.Equal([true, true, false], receipt.Results.Select(r => r.Accepted));
        var codeIds = host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/sms/sendbatchsms")
            .Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("codeId").GetString()!).Order().ToArray();
        Assert.Equal(["10001", "10062"], codeIds);
        Assert.All(emulator.Messages, m => Assert.Equal("NOTIFICATION", m.Action));
    }

    [Fact]
    public async Task A_country_without_codeId_is_refused_before_any_call()
    {
        await using var host = await StartAsync();
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<ISmsSender>();

        var ex = await Assert.ThrowsAsync<VendorValidationException>(() => sender.SendSmsAsync(new SmsMessage
        {
            Recipients = TestNumbers.Of("+8613900000001", "+447400123456"),
            Text = "hi",
        }));
        Assert.Contains("CodeIds:GB", ex.Rule, StringComparison.Ordinal);
        Assert.Empty(host.Set.Requests.For(VendorNames.Yaningai));
    }

    [Theory]
    [InlineData(31, true)]
    [InlineData(-31, true)]
    [InlineData(25, false)]
    public async Task Datetime_outside_the_half_hour_window_is_refused(int minutesOff, bool refused)
    {
        await using var host = await StartAsync();
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai), time: ManualClock.Shifted(TimeSpan.FromMinutes(minutesOff)));
        var sender = services.GetRequiredService<ISmsSender>();

        var receipt = await sender.SendSmsAsync(new SmsMessage { Recipients = TestNumbers.Of("+8613900000001"), Text = "hi" });

        var result = Assert.Single(receipt.Results);
        Assert.Equal(!refused, result.Accepted);
        if (refused)
        {
            Assert.Equal("-1", result.VendorCode);
            Assert.Contains("Expiration", result.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_wrong_key_is_an_authentication_error_that_names_no_secret()
    {
        await using var host = await StartAsync();
        var logs = new CapturingLoggerProvider();
        const string wrongKey = "wrong-key-0123";
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai),
            new Dictionary<string, string?> { ["Vendors:Yaningai:ApiKey"] = wrongKey }, logs: logs);
        var client = services.GetRequiredService<YaningaiClient>();

        var ex = await Assert.ThrowsAsync<VendorException>(() => client.SendBatchSmsAsync(new YaningaiSmsRequest
        {
            Numbers = ["13900000001"], CodeId = "10001", Action = YaningaiAction.Notification, Content = "hi",
        }));

        Assert.Equal("-1", ex.VendorCode);
        Assert.False(ex.IsTransient);
        Assert.DoesNotContain(wrongKey, ex.ToString(), StringComparison.Ordinal);
        // Trace-level logging of everything the pipeline writes (the typed client has request logging removed).
        Assert.DoesNotContain(logs.Lines, line => line.Contains(wrongKey, StringComparison.Ordinal));
        // The key itself never travels: only the sign computed from it.
        Assert.DoesNotContain(host.Set.Requests.All, r => r.QueryString.Contains(wrongKey, StringComparison.Ordinal) || r.Body.Contains(wrongKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Calling_too_fast_is_a_transient_refusal_that_is_not_retried_at_once()
    {
        await using var host = await StartAsync();
        host.Set.Yaningai.MaxCallsPerSecond = 1;
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var sender = services.GetRequiredService<ISmsSender>();
        var message = new SmsMessage { Recipients = TestNumbers.Of("+8613900000001"), Text = "hi" };

        Assert.True(Assert.Single((await sender.SendSmsAsync(message)).Results).Accepted);
        var refused = Assert.Single((await sender.SendSmsAsync(message)).Results);

        Assert.Equal(("-15", false, true), (refused.VendorCode, refused.Accepted, refused.Retryable));
        Assert.Equal(2, host.Set.Requests.For(VendorNames.Yaningai).Count);
    }

    [Fact]
    public async Task An_unreachable_host_is_a_transient_error_without_secrets()
    {
        using var services = YaningaiTestKit.Services(new Uri("http://127.0.0.1:1/"), new Dictionary<string, string?> { ["Vendors:Yaningai:MaxRetryAttempts"] = "0" });
        var sender = services.GetRequiredService<ISmsSender>();

        var receipt = await sender.SendSmsAsync(new SmsMessage { Recipients = TestNumbers.Of("+8613900000001"), Text = "hi" });

        var result = Assert.Single(receipt.Results);
        Assert.False(result.Accepted);
        Assert.True(result.Retryable);
        Assert.DoesNotContain(YaningaiEmulator.SandboxApiKey, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("sign=", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_errors_are_retried_but_client_errors_are_not()
    {
        await using var host = await StartAsync();
        var emulator = host.Set.Yaningai;
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var client = services.GetRequiredService<YaningaiClient>();
        var request = new YaningaiSmsRequest { Numbers = ["13900000001"], CodeId = "10001", Action = YaningaiAction.Verify, Content = "code 1234" };

        emulator.Faults.FailNextCalls(2, 503);
        var result = await client.SendBatchSmsAsync(request);
        Assert.Single(result.Accepted);
        Assert.Equal(3, host.Set.Requests.For(VendorNames.Yaningai).Count);

        host.Set.Requests.Clear();
        emulator.Faults.FailNextCalls(1, 400);
        var ex = await Assert.ThrowsAsync<VendorException>(() => client.SendBatchSmsAsync(request));
        Assert.Equal(400, ex.HttpStatus);
        Assert.False(ex.IsTransient);
        Assert.Single(host.Set.Requests.For(VendorNames.Yaningai));
    }

    [Theory]
    [InlineData("""{"content":"hi","codeId":"10001","action":"VERIFY"}""", -8)]
    [InlineData("""{"numbers":"13900000001","codeId":"10001","action":"VERIFY"}""", -4)]
    [InlineData("""{"numbers":"13900000001","content":"hi","action":"VERIFY"}""", -18)]
    [InlineData("""{"numbers":"13900000001","content":"hi","codeId":"99999","action":"VERIFY"}""", -19)]
    [InlineData("""{"numbers":"12345","content":"hi","codeId":"10001","action":"VERIFY"}""", -9)]
    [InlineData("""{"numbers":"13900000009","content":"hi","codeId":"10001","action":"VERIFY"}""", 5)]
    [InlineData("""{"numbers":"13900000001","content":"buy casino chips","codeId":"10001","action":"VERIFY"}""", -3)]
    [InlineData("""{"numbers":"13900000001","content":"hi","codeId":"10001","action":"SPAM"}""", 2)]
    public async Task Bad_input_gets_the_documented_negative_status(string body, int status)
    {
        await using var host = await StartAsync();
        var emulator = host.Set.Yaningai;
        emulator.Blacklist("+8613900000009");
        emulator.SensitiveWords.Add("casino");

        var answer = await RawPostAsync(host, "api/v1/sms/sendbatchsms?" + YaningaiTestKit.AuthQuery(), body);

        Assert.Equal(status, answer.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("msg").GetString()));
        Assert.Empty(emulator.Messages);
    }

    [Fact]
    public async Task Too_many_numbers_and_too_long_content_are_refused()
    {
        await using var host = await StartAsync();
        var emulator = host.Set.Yaningai;
        var numbers = string.Join(',', Enumerable.Range(0, 10_001).Select(i => $"139{i:D8}"));
        var tooMany = await RawPostAsync(host, "api/v1/sms/sendbatchsms?" + YaningaiTestKit.AuthQuery(),
            JsonSerializer.Serialize(new { numbers, content = "hi", codeId = "10001", action = "VERIFY" }));
        Assert.Equal(-7, tooMany.GetProperty("status").GetInt32());

        var tooLong = await RawPostAsync(host, "api/v1/sms/sendbatchsms?" + YaningaiTestKit.AuthQuery(),
            JsonSerializer.Serialize(new { numbers = "13900000001", content = new string('a', emulator.MaxContentLength + 1), codeId = "10001", action = "VERIFY" }));
        Assert.Equal(-5, tooLong.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Credentials_in_the_json_body_instead_of_the_url_are_refused()
    {
        await using var host = await StartAsync();
        var seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var body = JsonSerializer.Serialize(new
        {
            account = YaningaiEmulator.SandboxAccount,
            sign = YaningaiSigner.Sign(YaningaiEmulator.SandboxAccount, YaningaiEmulator.SandboxApiKey, seconds),
            datetime = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            numbers = "13900000001", content = "hi", codeId = "10001", action = "VERIFY",
        });

        var answer = await RawPostAsync(host, "api/v1/sms/sendbatchsms", body);
        Assert.Equal(-1, answer.GetProperty("status").GetInt32());

        var badSign = await RawPostAsync(host, "api/v1/sms/sendbatchsms?" + YaningaiTestKit.AuthQuery(apiKey: "other"), body);
        Assert.Equal(-1, badSign.GetProperty("status").GetInt32());
        Assert.Equal("Authentication error", badSign.GetProperty("msg").GetString());
    }

    internal static async Task<JsonElement> RawPostAsync(EmulatorHost host, string pathAndQuery, string json)
    {
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(VendorNames.Yaningai) };
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(pathAndQuery, UriKind.Relative), content);
        Assert.Equal(200, (int)response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
