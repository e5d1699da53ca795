using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Emulators;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Vendors.Tests.Tencent;

/// <summary>Template, signature and statistics calls.</summary>
public class TencentManagementTests
{
    [Fact]
    public async Task An_international_template_says_so_when_added_and_when_read_back()
    {
        await using var bed = await TencentTestBed.StartAsync();

        var added = await bed.Client.AddTemplateAsync("Your code is {1}", TencentTemplateType.Common, international: true);
        var domestic = await bed.Client.AddTemplateAsync("验证码 {1}", TencentTemplateType.Common);

        Assert.Equal(1, (int)JsonNode.Parse(bed.Calls("add_template")[0].Body)!["international"]!);
        Assert.Equal(0, (int)JsonNode.Parse(bed.Calls("add_template")[1].Body)!["international"]!);
        Assert.Equal(1, added.International);
        Assert.Equal([1, 0], (await bed.Client.GetTemplatesAsync([added.Id, domestic.Id])).Data.Select(t => t.International));
        var modified = await bed.Client.ModifyTemplateAsync(added.Id, "Your login code is {1}", TencentTemplateType.Common, international: true);
        Assert.Equal(1, modified.International);
    }

    [Fact]
    public async Task Templates_are_added_reviewed_modified_listed_and_deleted()
    {
        await using var bed = await TencentTestBed.StartAsync();
        var client = bed.Client;

        var added = await client.AddTemplateAsync("Your code is {1}", TencentTemplateType.Common, "otp", "login codes");
        Assert.Equal(TencentReviewStatus.Pending, added.Status);
        Assert.Equal("Your code is {1}", added.Text);
        var body = JsonNode.Parse(Assert.Single(bed.Calls("add_template")).Body)!;
        Assert.Equal(("otp", "login codes", 0), ((string?)body["title"], (string?)body["remark"], (int)body["type"]!));

        bed.Emulator.ReviewTemplate(added.Id, approve: true);
        var second = await client.AddTemplateAsync("Sale {1}", TencentTemplateType.Marketing);
        bed.Emulator.ReviewTemplate(second.Id, approve: false, "no marketing on this account");

        var byIds = await client.GetTemplatesAsync([added.Id, second.Id]);
        Assert.Equal([TencentReviewStatus.Approved, TencentReviewStatus.Rejected], byIds.Data.Select(t => t.Status));
        Assert.Equal("no marketing on this account", byIds.Data[1].Reply);
        Assert.Equal(TencentTemplateType.Marketing, byIds.Data[1].Type);

        var modified = await client.ModifyTemplateAsync(added.Id, "Your login code is {1}", TencentTemplateType.Common);
        Assert.Equal((added.Id, TencentReviewStatus.Pending), (modified.Id, modified.Status));

        var page = await client.GetTemplatePageAsync(offset: 1, max: 10);
        Assert.Equal((2, 1), (page.Total, page.Count));
        Assert.Equal(second.Id, Assert.Single(page.Data).Id);
        var pageBody = JsonNode.Parse(bed.Calls("get_template")[^1].Body)!;
        Assert.Equal((1, 10), ((int)pageBody["tpl_page"]!["offset"]!, (int)pageBody["tpl_page"]!["max"]!));

        await client.DeleteTemplatesAsync([added.Id, second.Id]);
        Assert.Equal(0, (await client.GetTemplatePageAsync(0, 50)).Total);
    }

    [Fact]
    public async Task Template_errors_carry_the_msg_text()
    {
        await using var bed = await TencentTestBed.StartAsync();

        var ex = await Assert.ThrowsAsync<VendorException>(() => bed.Client.ModifyTemplateAsync(4242, "x", TencentTemplateType.Common));

        Assert.Equal("1004", ex.VendorCode);
        Assert.Contains("4242 does not exist", ex.VendorMessage, StringComparison.Ordinal);
        await Assert.ThrowsAsync<VendorValidationException>(() => bed.Client.GetTemplatePageAsync(0, 51));
        await Assert.ThrowsAsync<VendorValidationException>(() => bed.Client.DeleteTemplatesAsync([]));
    }

    [Fact]
    public async Task Template_and_signature_calls_answer_errors_under_msg_the_others_under_errmsg()
    {
        await using var bed = await TencentTestBed.StartAsync();
        using var http = new HttpClient { BaseAddress = bed.Host.BaseUrlFor(VendorNames.Tencent) };

        async Task<JsonObject> Post(string api)
        {
            var body = new JsonObject { ["sig"] = new string('0', 64), ["time"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["type"] = 0, ["max"] = 1 };
            using var response = await http.PostAsJsonAsync($"v5/tlssmssvr/{api}?sdkappid={TencentEmulator.SandboxSdkAppId}&random=1", body);
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        }

        foreach (var api in new[] { "get_template", "get_sign", "add_sign" })
        {
            var answer = await Post(api);
            Assert.Equal(1001, (int)answer["result"]!);
            Assert.Equal("sig verification failed", (string?)answer["msg"]);
            Assert.False(answer.ContainsKey("errmsg"));
        }
        foreach (var api in new[] { "pullstatus", "pullsendstatus" })
        {
            var answer = await Post(api);
            Assert.Equal(1001, (int)answer["result"]!);
            Assert.Equal("sig verification failed", (string?)answer["errmsg"]);
        }
        Assert.Equal(1011, (int)(await Post("no_such_api"))["result"]!);
    }

    [Fact]
    public async Task Signatures_are_added_reviewed_modified_listed_and_deleted()
    {
        await using var bed = await TencentTestBed.StartAsync();
        var client = bed.Client;

        var added = await client.AddSignAsync("Tencent Technology", "company name", [1, 2, 3]);
        Assert.Equal((TencentReviewStatus.Pending, "Tencent Technology"), (added.Status, added.Text));
        Assert.Equal("AQID", (string?)JsonNode.Parse(Assert.Single(bed.Calls("add_sign")).Body)!["pic"]);

        bed.Emulator.ReviewSign(added.Id, approve: true);
        Assert.Equal(TencentReviewStatus.Approved, Assert.Single((await client.GetSignsAsync([added.Id])).Data).Status);

        var modified = await client.ModifySignAsync(added.Id, "Tencent Cloud");
        Assert.Equal(("Tencent Cloud", TencentReviewStatus.Pending), (modified.Text, modified.Status));

        var bracketed = await Assert.ThrowsAsync<VendorException>(() => client.AddSignAsync("【Tencent】"));
        Assert.Equal("1004", bracketed.VendorCode);

        await client.DeleteSignsAsync([added.Id]);
        var after = await client.GetSignsAsync([added.Id]);
        Assert.Equal(0, after.Count);
        Assert.Empty(after.Data);
    }

    [Fact]
    public async Task An_approved_signature_can_be_used_for_sending()
    {
        await using var bed = await TencentTestBed.StartAsync();
        bed.Emulator.AutoApprove = true;
        var sign = await bed.Client.AddSignAsync("Acme");
        var template = await bed.Client.AddTemplateAsync("Order {1} shipped", TencentTemplateType.Common);
        Assert.Equal(TencentReviewStatus.Approved, sign.Status);

        var sent = await bed.Client.SendSmsAsync(TencentTel.From(PhoneNumber.Parse("13788888888")), TencentSmsContent.Template(template.Id, "A-17") with { Sign = "Acme" });

        Assert.Equal(1, sent.Fee);
        Assert.Equal("【Acme】Order A-17 shipped", Assert.Single(bed.Emulator.Sent).Text);
    }

    [Fact]
    public async Task Statistics_count_sends_and_reports_by_hour()
    {
        await using var bed = await TencentTestBed.StartAsync();
        var template = bed.Emulator.SeedTemplate("Hi {1}");
        var numbers = new[] { "13700000001", "13700000002", "13700000003", "13700000004" }.Select(n => PhoneNumber.Parse(n)).ToArray();
        bed.Emulator.Script
            .For(numbers[1].E164, DeliveryPlan.Fail("EMPTY"))
            .For(numbers[2].E164, DeliveryPlan.Fail("BLACKLIST"))
            .For(numbers[3].E164, DeliveryPlan.NeverReport);
        // 150 characters with the signature: a long message billed as 3.
        await bed.Sender.SendSmsAsync(new SmsMessage
        {
            Recipients = numbers,
            TemplateId = template.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TemplateParams = [new("p", new string('x', 135))],
        });
        await Task.Delay(20);
        var now = DateTimeOffset.UtcNow;

        var send = await bed.Client.PullSendStatisticsAsync(now.AddHours(-1), now);
        var reports = await bed.Client.PullCallbackStatisticsAsync(now.AddHours(-1), now);
        var yesterday = await bed.Client.PullSendStatisticsAsync(now.AddDays(-1), now.AddDays(-1));

        Assert.Equal((4L, 4L, 12L), (send.Request, send.Success, send.BillNumber));
        Assert.Equal((4L, 3L, 1L, 2L), (reports.Success, reports.Status, reports.StatusSuccess, reports.StatusFail));
        Assert.Equal((1L, 1L, 0L), (reports.StatusFailInvalidNumber, reports.StatusFailBlacklist, reports.StatusFailOperator));
        Assert.Equal(0, yesterday.Request);
        var body = JsonNode.Parse(bed.Calls("pullsendstatus")[0].Body)!;
        Assert.Equal(long.Parse(now.ToOffset(TimeSpan.FromHours(8)).ToString("yyyyMMddHH", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture), (long)body["end_date"]!);
    }
}
