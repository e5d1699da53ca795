using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Vendors.Tests.Tencent;

public class TencentSendTests
{
    private static readonly PhoneNumber China1 = PhoneNumber.Parse("13788888888");
    private static readonly PhoneNumber China2 = PhoneNumber.Parse("13788888889");
    private static readonly PhoneNumber Uk = PhoneNumber.Parse("+447911123456");

    private static IReadOnlyList<PhoneNumber> ChinaNumbers(int count) =>
        Enumerable.Range(0, count).Select(i => PhoneNumber.Parse($"139{i:D8}")).ToArray();

    [Fact]
    public async Task Template_send_to_one_number_uses_sendsms_with_a_sig_over_the_mobile()
    {
        await using var bed = await TencentTestBed.StartAsync();
        var templateId = bed.Emulator.SeedTemplate("Your {1} is {2}. It is valid for {3} minutes.");

        var receipt = await bed.Sender.SendSmsAsync(new SmsMessage
        {
            Recipients = [China1],
            TemplateId = templateId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TemplateParams = [new("what", "verification code"), new("code", "1234"), new("minutes", "4")],
        });

        var result = Assert.Single(receipt.Results);
        Assert.True(result.Accepted, result.Error);
        Assert.Equal("+8613788888888", result.Mobile);
        Assert.False(string.IsNullOrEmpty(result.MessageId));
        Assert.Equal(1m, result.Fee);

        var call = Assert.Single(bed.Calls("sendsms"));
        Assert.Equal("/tencent/v5/tlssmssvr/sendsms", call.Path);
        Assert.Contains($"sdkappid={TencentEmulator.SandboxSdkAppId}", call.QueryString, StringComparison.Ordinal);
        var body = JsonNode.Parse(call.Body)!.AsObject();
        Assert.Equal("86", (string?)body["tel"]!["nationcode"]);
        Assert.Equal("13788888888", (string?)body["tel"]!["mobile"]);
        Assert.Equal(templateId, (int)body["tpl_id"]!);
        Assert.Equal(["verification code", "1234", "4"], body["params"]!.AsArray().Select(p => (string?)p));
        Assert.Equal(64, ((string?)body["sig"])!.Length);
        Assert.Equal("【SmsSandbox】Your verification code is 1234. It is valid for 4 minutes.", Assert.Single(bed.Emulator.Sent).Text);
    }

    [Fact]
    public async Task Text_send_must_match_an_approved_template()
    {
        await using var bed = await TencentTestBed.StartAsync(new Dictionary<string, string?> { ["DefaultSign"] = "Shop" });
        bed.Emulator.SeedTemplate("Sale ends {1}!", TencentTemplateType.Marketing);
        bed.Emulator.SeedSign("Shop");

        var ok = await bed.Sender.SendSmsAsync(new SmsMessage { Recipients = [China1], Text = "Sale ends Sunday!", Kind = SmsKind.Marketing });
        Assert.True(ok.Results[0].Accepted, ok.Results[0].Error);
        var body = JsonNode.Parse(bed.Calls("sendsms")[0].Body)!.AsObject();
        Assert.Equal("【Shop】Sale ends Sunday!", (string?)body["msg"]);
        Assert.Equal(1, (int)body["type"]!);

        var rejected = await bed.Sender.SendSmsAsync(new SmsMessage { Recipients = [China1], Text = "Free money" });
        var result = Assert.Single(rejected.Results);
        Assert.False(result.Accepted);
        Assert.Equal("1014", result.VendorCode);
        Assert.False(result.Retryable);

        var unknownSign = await bed.Sender.SendSmsAsync(new SmsMessage { Recipients = [China1], Text = "Sale ends Monday!", SignName = "Nobody" });
        Assert.Equal("1012", unknownSign.Results[0].VendorCode);
    }

    [Fact]
    public async Task Recipients_over_200_are_split_into_sendmultisms2_calls_and_merged_in_order()
    {
        await using var bed = await TencentTestBed.StartAsync();
        var templateId = bed.Emulator.SeedTemplate("Hello");
        var numbers = ChinaNumbers(450);

        var receipt = await bed.Sender.SendSmsAsync(new SmsMessage { Recipients = numbers, TemplateId = templateId.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Equal(numbers.Select(n => n.E164), receipt.Results.Select(r => r.Mobile));
        Assert.Equal(450, receipt.AcceptedCount);
        Assert.Equal(450, receipt.Results.Select(r => r.MessageId).Distinct().Count());
        Assert.Equal([200, 200, 50], bed.Calls("sendmultisms2").Select(c => JsonNode.Parse(c.Body)!["tel"]!.AsArray().Count));
        Assert.Equal(450m, receipt.TotalFee);
    }

    [Fact]
    public async Task Numbers_abroad_go_by_sendsms_with_their_nationcode_and_keep_their_place()
    {
        await using var bed = await TencentTestBed.StartAsync();
        var templateId = bed.Emulator.SeedTemplate("Hello");

        var receipt = await bed.Sender.SendSmsAsync(new SmsMessage { Recipients = [China1, Uk, China2], TemplateId = templateId.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Equal(["+8613788888888", "+447911123456", "+8613788888889"], receipt.Results.Select(r => r.Mobile));
        Assert.All(receipt.Results, r => Assert.True(r.Accepted, r.Error));
        Assert.Equal(2, JsonNode.Parse(Assert.Single(bed.Calls("sendmultisms2")).Body)!["tel"]!.AsArray().Count);
        Assert.Equal("44", (string?)JsonNode.Parse(Assert.Single(bed.Calls("sendsms")).Body)!["tel"]!["nationcode"]);
    }

    [Fact]
    public async Task Sendisms_takes_the_plus_form_and_signs_it_as_tel()
    {
        await using var bed = await TencentTestBed.StartAsync();
        var templateId = bed.Emulator.SeedTemplate("Code {1}");

        var sent = await bed.Client.SendInternationalSmsAsync(Uk, TencentSmsContent.Template(templateId, "42"));

        Assert.False(string.IsNullOrEmpty(sent.Sid));
        var body = JsonNode.Parse(Assert.Single(bed.Calls("sendisms")).Body)!;
        Assert.Equal("+447911123456", (string?)body["tel"]);
        var random = System.Web.HttpUtility.ParseQueryString(Assert.Single(bed.Calls("sendisms")).QueryString)["random"]!;
        Assert.Equal(TencentSigner.SignInternational(TencentEmulator.SandboxAppKey, random, (long)body["time"]!, "+447911123456"), (string?)body["sig"]);
    }

    [Fact]
    public async Task Emulator_refuses_a_sendisms_signed_without_the_tel()
    {
        await using var bed = await TencentTestBed.StartAsync();
        var templateId = bed.Emulator.SeedTemplate("Code {1}");
        using var http = new HttpClient { BaseAddress = bed.Host.BaseUrlFor(VendorNames.Tencent) };
        var time = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        async Task<int> Post(string sig)
        {
            var body = new JsonObject { ["tel"] = "+447911123456", ["tpl_id"] = templateId, ["params"] = new JsonArray("1"), ["sig"] = sig, ["time"] = time };
            using var response = await http.PostAsJsonAsync($"v5/tlssmssvr/sendisms?sdkappid={TencentEmulator.SandboxSdkAppId}&random=12345", body);
            return (int)(await response.Content.ReadFromJsonAsync<JsonObject>())!["result"]!;
        }

        Assert.Equal(TencentErrorCodes.SigMismatch, await Post(TencentSigner.Sign(TencentEmulator.SandboxAppKey, "12345", time)));
        Assert.Equal(TencentErrorCodes.Ok, await Post(TencentSigner.SignInternational(TencentEmulator.SandboxAppKey, "12345", time, "+447911123456")));
    }

    [Fact]
    public async Task Emulator_enforces_the_multi_send_rules()
    {
        await using var bed = await TencentTestBed.StartAsync();
        var templateId = bed.Emulator.SeedTemplate("Hello");
        using var http = new HttpClient { BaseAddress = bed.Host.BaseUrlFor(VendorNames.Tencent) };

        async Task<JsonObject> PostMulti(IEnumerable<TencentTel> tels)
        {
            var list = tels.ToArray();
            var time = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var body = new JsonObject
            {
                ["tel"] = new JsonArray(list.Select(t => (JsonNode)new JsonObject { ["nationcode"] = t.Nationcode, ["mobile"] = t.Mobile }).ToArray()),
                ["tpl_id"] = templateId,
                ["params"] = new JsonArray(),
                ["sig"] = TencentSigner.Sign(TencentEmulator.SandboxAppKey, "12345", time, list.Select(t => t.Mobile)),
                ["time"] = time,
            };
            using var response = await http.PostAsJsonAsync($"v5/tlssmssvr/sendmultisms2?sdkappid={TencentEmulator.SandboxSdkAppId}&random=12345", body);
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        }

        Assert.Equal(1046, (int)(await PostMulti(ChinaNumbers(201).Select(TencentTel.From)))["result"]!);
        Assert.Equal(1034, (int)(await PostMulti([TencentTel.From(China1), TencentTel.From(Uk)]))["result"]!);
        Assert.Equal(1045, (int)(await PostMulti([TencentTel.From(Uk)]))["result"]!);
        var partly = await PostMulti([TencentTel.From(China1), new TencentTel("86", "12")]);
        Assert.Equal(0, (int)partly["result"]!);
        Assert.Equal([0, 1016], partly["detail"]!.AsArray().Select(d => (int)d!["result"]!));
    }

    [Fact]
    public async Task Input_is_validated_before_any_call()
    {
        await using var bed = await TencentTestBed.StartAsync();

        var tooLong = await Assert.ThrowsAsync<VendorValidationException>(() =>
            bed.Sender.SendSmsAsync(new SmsMessage { Recipients = [China1], Text = new string('x', 451) }));
        Assert.Equal("text", tooLong.Field);
        var tooLongWithSign = await Assert.ThrowsAsync<VendorValidationException>(() =>
            bed.Sender.SendSmsAsync(new SmsMessage { Recipients = [China1], Text = new string('x', 445), SignName = "Acme" }));
        Assert.Contains("【Acme】", tooLongWithSign.Rule, StringComparison.Ordinal);
        var badTemplate = await Assert.ThrowsAsync<VendorValidationException>(() =>
            bed.Sender.SendSmsAsync(new SmsMessage { Recipients = [China1], TemplateId = "SMS_1" }));
        Assert.Equal("templateId", badTemplate.Field);
        await Assert.ThrowsAsync<VendorValidationException>(() =>
            bed.Client.SendMultiSmsAsync(ChinaNumbers(201).Select(TencentTel.From).ToArray(), TencentSmsContent.Template(1)));
        Assert.Empty(bed.Host.Set.Requests.For(VendorNames.Tencent));
        Assert.Equal(450, bed.Sender.MaxTextLength);
        Assert.Equal(200, bed.Sender.MaxRecipientsPerCall);
        Assert.True(bed.Sender.Capabilities.HasFlag(VendorCapabilities.PullReplies));
    }

    [Fact]
    public async Task A_wrong_app_key_is_a_sig_error_and_the_key_is_never_shown()
    {
        const string wrongKey = "not-the-right-app-key-9f8e7d";
        await using var bed = await TencentTestBed.StartAsync(new Dictionary<string, string?> { ["AppKey"] = wrongKey });

        var ex = await Assert.ThrowsAsync<VendorException>(() => bed.Client.PullStatusAsync());

        Assert.Equal("1001", ex.VendorCode);
        Assert.False(ex.IsTransient);
        Assert.DoesNotContain(wrongKey, ex.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(bed.Logs.Lines, l => l.Contains(wrongKey, StringComparison.Ordinal));
        Assert.DoesNotContain(bed.Host.Set.Requests.All, r => r.Body.Contains(wrongKey, StringComparison.Ordinal) || r.QueryString.Contains(wrongKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_sdkappid_is_rejected()
    {
        await using var bed = await TencentTestBed.StartAsync(new Dictionary<string, string?> { ["SdkAppId"] = "1400999999" });
        var ex = await Assert.ThrowsAsync<VendorException>(() => bed.Client.PullStatusAsync());
        Assert.Equal("1019", ex.VendorCode);
    }

    [Theory]
    [InlineData(11, "1021")]
    [InlineData(-11, "1021")]
    [InlineData(9, null)]
    public async Task Time_must_be_within_ten_minutes(int skewMinutes, string? expectedCode)
    {
        await using var bed = await TencentTestBed.StartAsync(clientTime: ManualClock.Shifted(TimeSpan.FromMinutes(skewMinutes)));

        var ex = await Record.ExceptionAsync(() => bed.Client.PullStatusAsync());

        Assert.Equal(expectedCode, (ex as VendorException)?.VendorCode);
        if (expectedCode is null) Assert.Null(ex);
    }

    [Fact]
    public async Task Server_errors_are_retried_and_succeed()
    {
        await using var bed = await TencentTestBed.StartAsync();
        bed.Emulator.Faults.FailNextCalls(2);

        var pulled = await bed.Client.PullStatusAsync();

        Assert.Equal(0, pulled.Result);
        Assert.Equal(3, bed.Calls("pullstatus").Count);
        // Each attempt is signed once; the same body is sent again.
        Assert.Single(bed.Calls("pullstatus").Select(c => c.Body).Distinct());
    }

    [Fact]
    public async Task Server_errors_beyond_the_retries_are_transient_vendor_errors()
    {
        await using var bed = await TencentTestBed.StartAsync();
        bed.Emulator.Faults.FailNextCalls(3, 503);

        var ex = await Assert.ThrowsAsync<VendorException>(() => bed.Client.PullStatusAsync());

        Assert.True(ex.IsTransient);
        Assert.Equal(503, ex.HttpStatus);
        Assert.Equal(3, bed.Calls("pullstatus").Count);
    }

    [Fact]
    public async Task Client_errors_are_not_retried()
    {
        await using var bed = await TencentTestBed.StartAsync();
        bed.Emulator.Faults.FailNextCalls(1, 400);

        var ex = await Assert.ThrowsAsync<VendorException>(() => bed.Client.PullStatusAsync());

        Assert.False(ex.IsTransient);
        Assert.Equal(400, ex.HttpStatus);
        Assert.Single(bed.Calls("pullstatus"));
    }

    [Fact]
    public async Task A_slow_answer_times_out_and_is_retried()
    {
        await using var bed = await TencentTestBed.StartAsync(new Dictionary<string, string?> { ["AttemptTimeout"] = VendorServices.ShortAttemptTimeout });
        bed.Emulator.Faults.DelayNextCalls(1, VendorServices.SlowAnswer);

        var pulled = await bed.Client.PullStatusAsync();

        Assert.Equal(0, pulled.Result);
        Assert.Equal(2, bed.Calls("pullstatus").Count);
    }

    [Fact]
    public void Missing_credentials_are_named_on_start()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Vendors:Tencent:SdkAppId"] = "1400000001" }).Build();
        using var services = new ServiceCollection().AddTencent(configuration.GetSection("Vendors:Tencent")).BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<TencentOptions>>().Value);

        Assert.Contains("Vendors:Tencent:AppKey", ex.Message, StringComparison.Ordinal);
        Assert.Equal(new Uri(TencentOptions.DefaultHost), new TencentOptions().BaseUrl);
    }
}
