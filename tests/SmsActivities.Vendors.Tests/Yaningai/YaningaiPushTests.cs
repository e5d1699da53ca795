using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;
using SmsActivities.Emulators.Yaningai;
using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Vendors.Tests.Yaningai;

/// <summary>Emulator pushes, received on loopback and read by the YANINGAI readers.</summary>
public class YaningaiPushTests
{
    [Fact]
    public async Task Scripted_outcomes_are_pushed_as_sms_reports_that_the_reader_understands()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        var emulator = host.Set.Yaningai;
        emulator.ReportCallbackUrl = receiver.Url("sms-status");
        emulator.Script
            .For("+8613900000001", DeliveryPlan.Deliver(TimeSpan.FromSeconds(10)))
            .For("+8613900000002", DeliveryPlan.Fail("-9", TimeSpan.FromSeconds(20)))
            .For("+8613900000003", DeliveryPlan.NeverReport);
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var receipt = await services.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage
        {
            Recipients = TestNumbers.Of("+8613900000001", "+8613900000002", "+8613900000003"),
            Text = "your code is 1234",
            Kind = SmsKind.Verification,
        });

        var pushes = await receiver.WaitForAsync(2, "sms-status");
        await host.Set.SettleAsync();

        Assert.Equal(2, pushes.Count);
        var reader = new YaningaiSmsReportReader();
        var reports = pushes.SelectMany(p => reader.Read(p.Request).Reports).ToDictionary(r => r.Mobile!);
        Assert.Equal(2, reports.Count);
        Assert.Equal(DeliveryStatus.Delivered, reports["+8613900000001"].Status);
        Assert.Equal(receipt.Results[0].MessageId, reports["+8613900000001"].MessageId);
        Assert.Equal(DeliveryStatus.Failed, reports["+8613900000002"].Status);
        Assert.Equal("-9", reports["+8613900000002"].VendorCode);
        Assert.Equal(receipt.Results[1].MessageId, reports["+8613900000002"].MessageId);

        using var body = JsonDocument.Parse(pushes[0].Request.Body);
        Assert.Equal("sms", body.RootElement.GetProperty("type").GetString());
        var row = body.RootElement.GetProperty("array")[0];
        Assert.Equal(8, row.GetArrayLength());
        Assert.EndsWith("+08:00", row[2].GetString(), StringComparison.Ordinal);
        Assert.Equal(receipt.BatchId, row[5].GetString());
        Assert.Equal("1", row[6].GetString());
        Assert.Equal("0.1", row[7].GetString());
        Assert.StartsWith("application/json", pushes[0].Request.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reports_due_together_share_pushes_of_at_most_50()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        host.Set.Yaningai.ReportCallbackUrl = receiver.Url("sms-status");
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));
        var recipients = Enumerable.Range(0, 60).Select(i => PhoneNumber.Parse($"+86139{i:D8}")).ToArray();

        await services.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage { Recipients = recipients, Text = "hi" });
        var pushes = await receiver.WaitForAsync(2, "sms-status");

        var counts = pushes.Select(p => JsonDocument.Parse(p.Request.Body).RootElement.GetProperty("cnt").GetInt32()).Order().ToArray();
        Assert.Equal([10, 50], counts);
    }

    [Fact]
    public async Task An_unacknowledged_push_is_retried_until_it_gets_200()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        await using var receiver = await PushReceiver.StartAsync(refuseFirst: 2);
        host.Set.Yaningai.ReportCallbackUrl = receiver.Url("sms-status");
        using var services = YaningaiTestKit.Services(host.BaseUrlFor(VendorNames.Yaningai));

        await services.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage { Recipients = TestNumbers.Of("+8613900000001"), Text = "hi" });
        await receiver.WaitForAsync(3, "sms-status");
        await host.Set.SettleAsync();

        var attempts = host.Set.Pushes.Attempts.Where(a => a.Vendor == VendorNames.Yaningai).ToArray();
        Assert.Equal([1, 2, 3], attempts.Select(a => a.Attempt));
        Assert.Equal([false, false, true], attempts.Select(a => a.Acknowledged));
        // The 1 min and 5 min retry delays, scaled by 0.001.
        Assert.True(attempts[1].At - attempts[0].At >= TimeSpan.FromMilliseconds(50));
        Assert.True(attempts[2].At - attempts[1].At >= TimeSpan.FromMilliseconds(250));
    }

    [Fact]
    public async Task Handset_replies_are_pushed_as_uplinks()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        await using var receiver = await PushReceiver.StartAsync();
        var emulator = host.Set.Yaningai;
        emulator.ReplyCallbackUrl = receiver.Url("uplink");

        emulator.InjectReply(new HandsetReply("+6282111116504", "I want it"));
        using (var http = new HttpClient())
        {
            using var response = await http.PostAsJsonAsync(new Uri(host.BaseUrlFor(VendorNames.Yaningai), "_handset/replies"),
                new { mobile = "+8613900000001", text = "STOP", extend = "10690001" });
            Assert.Equal(202, (int)response.StatusCode);
        }
        var pushes = await receiver.WaitForAsync(2, "uplink");

        var reader = new YaningaiUplinkReader();
        var replies = pushes.Select(p => Assert.Single(reader.Read(p.Request).Replies)).OrderBy(r => r.Text, StringComparer.Ordinal).ToArray();
        Assert.Equal(("+6282111116504", "I want it", emulator.UplinkNumber), (replies[0].Mobile, replies[0].Text, replies[0].Extend));
        Assert.Equal(("+8613900000001", "STOP", "10690001"), (replies[1].Mobile, replies[1].Text, replies[1].Extend));
        using var body = JsonDocument.Parse(pushes[0].Request.Body);
        Assert.Equal(JsonValueKind.String, body.RootElement.GetProperty("datetime").ValueKind);
    }

    [Fact]
    public async Task Without_a_reply_address_replies_are_kept_since_there_is_no_pull_api()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        host.Set.Yaningai.InjectReply(new HandsetReply("+8613900000001", "hello"));

        Assert.Equal("hello", Assert.Single(host.Set.Yaningai.UnpushedReplies).Text);
        Assert.Empty(host.Set.Pushes.Attempts);
    }
}
