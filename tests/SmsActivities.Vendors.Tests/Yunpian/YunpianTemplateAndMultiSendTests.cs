using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Vendors.Tests.Yunpian;

/// <summary>The calls Yunpian's SDKs have beyond single/batch send, and the headers they send.</summary>
public class YunpianTemplateAndMultiSendTests
{
    [Fact]
    public async Task Requests_declare_utf8_form_content_and_accept_utf8_json()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        await sp.GetRequiredService<YunpianClient>().GetUserAsync();

        var request = Assert.Single(host.Set.Requests.For(VendorNames.Yunpian, "/v2/user/get.json"));
        Assert.Equal("application/x-www-form-urlencoded; charset=utf-8", request.Headers["Content-Type"]);
        Assert.Equal("application/json; charset=utf-8", request.Headers["Accept"]);
    }

    [Fact]
    public async Task Multi_send_gives_each_number_its_own_text_even_with_commas_and_ampersands_inside()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        string[] texts = ["【Acme】您好, 张三: 订单 A&B 已发货", "【Acme】Hi Li, 100% = done, thanks"];

        var result = await sp.GetRequiredService<YunpianClient>().MultiSendAsync(new YunpianMultiSend(["13800000001", "13800000002"], texts) { Uid = "m-1" });

        Assert.Equal(2, result.Data.Count);
        Assert.All(result.Data, d => Assert.Equal(0, d.Code));
        Assert.Equal(texts, host.Set.Yunpian.Sent.OrderBy(s => s.Mobile).Select(s => s.Text));
        // Each text is URL-encoded on its own before the form encodes the field again: the separating comma stays a
        // bare comma inside the field, the commas inside the texts do not.
        var text = VendorServices.Form(Assert.Single(host.Set.Requests.For(VendorNames.Yunpian, "/v2/sms/multi_send.json")))["text"];
        Assert.Equal(2, text!.Split(',').Length);
        Assert.Equal(texts, YunpianFormat.ParseMultiText(text));
    }

    [Fact]
    public async Task Multi_send_refuses_a_text_count_that_does_not_match_the_numbers_before_any_call()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);

        var ex = await Assert.ThrowsAsync<VendorValidationException>(() =>
            sp.GetRequiredService<YunpianClient>().MultiSendAsync(new YunpianMultiSend(["13800000001", "13800000002"], ["only one"])));

        Assert.Equal("text", ex.Field);
        Assert.Empty(host.Set.Requests.For(VendorNames.Yunpian));
    }

    [Fact]
    public void Tpl_value_encodes_names_with_hashes_and_values_on_their_own()
    {
        var value = YunpianFormat.TemplateValue([new("code", "12&34"), new("company", "云片=网")]);

        Assert.Equal("%23code%23=12%2634&%23company%23=%E4%BA%91%E7%89%87%3D%E7%BD%91", value);
        Assert.Equal([new("code", "12&34"), new("company", "云片=网")], YunpianFormat.ParseTemplateValue(value)!);
    }

    [Fact]
    public async Task A_template_to_one_number_goes_out_as_tpl_single_send_filled_from_tpl_value()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var templateId = host.Set.Yunpian.SeedTemplate("【#company#】您的验证码是#code#");

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage
        {
            Recipients = [PhoneNumber.Parse("13800000001")],
            TemplateId = templateId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TemplateParams = [new("code", "1234"), new("company", "A&B=C")],
            IdempotencyKey = "wf-1",
        });

        Assert.True(Assert.Single(receipt.Results).Accepted);
        var sent = Assert.Single(host.Set.Yunpian.Sent);
        Assert.Equal("【A&B=C】您的验证码是1234", sent.Text);
        Assert.Equal("wf-1", sent.Uid);
        var form = VendorServices.Form(Assert.Single(host.Set.Requests.For(VendorNames.Yunpian, "/v2/sms/tpl_single_send.json")));
        Assert.Equal("%23code%23=1234&%23company%23=A%26B%3DC", form["tpl_value"]);
    }

    [Fact]
    public async Task A_template_to_many_numbers_goes_out_as_tpl_batch_send_in_chunks_of_1000()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var templateId = host.Set.Yunpian.SeedTemplate("【Acme】Your parcel #no# is on its way");
        var recipients = TestNumbers.Sequence(1001);

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage
        {
            Recipients = recipients, TemplateId = templateId.ToString(System.Globalization.CultureInfo.InvariantCulture), TemplateParams = [new("no", "P-7")],
        });

        Assert.Equal(1001, receipt.AcceptedCount);
        Assert.Equal(recipients.Select(r => r.E164), receipt.Results.Select(r => r.Mobile));
        Assert.Single(host.Set.Requests.For(VendorNames.Yunpian, "/v2/sms/tpl_batch_send.json"));
        Assert.Single(host.Set.Requests.For(VendorNames.Yunpian, "/v2/sms/tpl_single_send.json"));
        Assert.All(host.Set.Yunpian.Sent, s => Assert.Equal("【Acme】Your parcel P-7 is on its way", s.Text));
    }

    [Fact]
    public async Task A_template_with_a_placeholder_left_unfilled_is_rejected_by_the_emulator_as_by_Yunpian()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        var templateId = host.Set.Yunpian.SeedTemplate("【Acme】#name#, your code is #code#");

        var ex = await Assert.ThrowsAsync<VendorException>(() => sp.GetRequiredService<YunpianClient>().TemplateSingleSendAsync(
            new YunpianTemplateSend(["13800000001"], templateId, [new("code", "1")])));

        Assert.Equal(VendorFailureKind.Rejected, ex.Kind);
        Assert.Equal("2", ex.VendorCode);
        Assert.Empty(host.Set.Yunpian.Sent);
    }

    [Fact]
    public async Task A_template_id_that_is_not_a_number_is_refused_before_any_call()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);

        var ex = await Assert.ThrowsAsync<VendorValidationException>(() => sp.GetRequiredService<ISmsSender>().SendSmsAsync(
            new SmsMessage { Recipients = [PhoneNumber.Parse("13800000001")], TemplateId = "SMS_1" }));

        Assert.Equal("templateId", ex.Field);
        Assert.Empty(host.Set.Requests.For(VendorNames.Yunpian));
    }

    [Fact]
    public void A_failed_status_push_reports_error_detail_as_the_description_and_error_msg_as_the_code()
    {
        const string json = """[{"sid":9,"uid":"u1","user_receive_time":"2026-11-21 10:00:00","error_msg":"UNDELIV","error_detail":"用户不在服务区","mobile":"13800000001","report_status":"FAIL"}]""";

        var report = Assert.Single(new YunpianStatusReader().Read(WebhookRequest.Form("sms_status=" + Uri.EscapeDataString(json))).Reports);

        Assert.Equal("UNDELIV", report.VendorCode);
        Assert.Equal("用户不在服务区", report.Description);
    }

    [Fact]
    public async Task The_emulator_pushes_error_detail_for_a_failed_delivery()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = YunpianFixture.Services(host);
        host.Set.Clock.Scale = 0.001;
        host.Set.Yunpian.Script.For("+8613800000009", DeliveryPlan.Fail("UNDELIV"));

        await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage { Recipients = [PhoneNumber.Parse("13800000009")], Text = "hi" });
        await host.Set.SettleAsync();
        var report = Assert.Single(await sp.GetRequiredService<IReportPuller>().PullDeliveryReportsAsync());

        Assert.Equal(DeliveryStatus.Failed, report.Status);
        Assert.False(string.IsNullOrEmpty(report.Description));
        Assert.NotEqual("UNDELIV", report.Description);
    }
}
