using System.Net.Http.Json;
using SmsActivities.Emulators;
using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Vendors.Tests.Tencent;

/// <summary>Scripted delivery and handset replies, pushed to callbacks and served by the pull APIs.</summary>
public class TencentDeliveryTests
{
    private static readonly PhoneNumber China1 = PhoneNumber.Parse("13788888888");
    private static readonly PhoneNumber China2 = PhoneNumber.Parse("13788888889");

    private static async Task<SendReceipt> SendAsync(TencentTestBed bed, params PhoneNumber[] to)
    {
        var templateId = bed.Emulator.SeedTemplate("Hello {1}");
        return await bed.Sender.SendSmsAsync(new SmsMessage
        {
            Recipients = to,
            TemplateId = templateId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TemplateParams = [new("name", "Ann")],
        });
    }

    [Fact]
    public async Task Scripted_outcomes_are_pushed_as_json_arrays_the_status_reader_understands()
    {
        await using var bed = await TencentTestBed.StartAsync();
        await using var receiver = await PushReceiver.StartAsync(answer: TencentAcknowledgement.Ok);
        bed.Emulator.StatusCallbackUrl = receiver.Url("tencent/status");
        bed.Emulator.Script.For(China2.E164, DeliveryPlan.Fail("EMPTY", TimeSpan.FromSeconds(30)));

        var receipt = await SendAsync(bed, China1, China2);
        var bodies = await receiver.WaitForAsync(2, "/tencent/status");

        var reader = new TencentStatusCallbackReader();
        var reports = bodies.SelectMany(b => reader.Read(b.Request).Reports).ToDictionary(r => r.MessageId);
        Assert.Equal(DeliveryStatus.Delivered, reports[receipt.Results[0].MessageId!].Status);
        var failed = reports[receipt.Results[1].MessageId!];
        Assert.Equal(DeliveryStatus.Failed, failed.Status);
        Assert.Equal("EMPTY", failed.VendorCode);
        Assert.Equal(China2.E164, failed.Mobile);
        await bed.Host.Set.SettleAsync();
        Assert.All(bed.Host.Set.Pushes.Attempts, a => Assert.True(a.Acknowledged));
    }

    [Fact]
    public async Task Unacknowledged_status_pushes_are_sent_again()
    {
        await using var bed = await TencentTestBed.StartAsync();
        await using var receiver = await PushReceiver.StartAsync(answer: TencentAcknowledgement.Ok);
        receiver.Answer = WebhookAcknowledgement.JsonBody("""{"result":1,"errmsg":"busy"}""");
        bed.Emulator.StatusCallbackUrl = receiver.Url("status");

        await SendAsync(bed, China1);
        await receiver.WaitForAsync(2, "/status");
        receiver.Answer = TencentAcknowledgement.Ok;
        await bed.Host.Set.SettleAsync();

        var attempts = bed.Host.Set.Pushes.Attempts;
        Assert.True(attempts.Count is >= 3 and <= 4, $"{attempts.Count} attempts");
        Assert.True(attempts[^1].Acknowledged);
        Assert.All(attempts.SkipLast(1), a => Assert.False(a.Acknowledged));
        Assert.Single(attempts.Select(a => a.Body).Distinct());
    }

    [Fact]
    public async Task Without_a_callback_statuses_are_pulled_once_each()
    {
        await using var bed = await TencentTestBed.StartAsync();
        bed.Emulator.Script.For(China2.E164, DeliveryPlan.NeverReport);

        var receipt = await SendAsync(bed, China1, China2);
        await Task.Delay(20);
        var first = await bed.Sender.PullDeliveryReportsAsync();
        var second = await bed.Sender.PullDeliveryReportsAsync();

        var report = Assert.Single(first);
        Assert.Equal(receipt.Results[0].MessageId, report.MessageId);
        Assert.Equal(China1.E164, report.Mobile);
        Assert.Equal(DeliveryStatus.Delivered, report.Status);
        Assert.Empty(second);
        var body = System.Text.Json.Nodes.JsonNode.Parse(bed.Calls("pullstatus")[0].Body)!;
        Assert.Equal(0, (int)body["type"]!);
        Assert.Equal(100, (int)body["max"]!);
    }

    [Fact]
    public async Task Replies_are_pushed_to_the_reply_callback_when_one_is_set()
    {
        await using var bed = await TencentTestBed.StartAsync();
        await using var receiver = await PushReceiver.StartAsync(answer: TencentAcknowledgement.Ok);
        bed.Emulator.ReplyCallbackUrl = receiver.Url("reply");

        bed.Emulator.InjectReply(new HandsetReply(China1.E164, "STOP", "12"));
        var body = Assert.Single(await receiver.WaitForAsync(1, "/reply"));

        var read = new TencentReplyCallbackReader().Read(body.Request);
        Assert.True(read.IsValid, read.Error);
        var reply = Assert.Single(read.Replies);
        Assert.Equal((China1.E164, "STOP", "12"), (reply.Mobile, reply.Text, reply.Extend));
        Assert.Contains("\"sign\":\"SmsSandbox\"", body.Text, StringComparison.Ordinal);
        Assert.Empty(await bed.Sender.PullRepliesAsync());
    }

    [Fact]
    public async Task Without_a_callback_replies_are_pulled_with_type_1()
    {
        await using var bed = await TencentTestBed.StartAsync();

        bed.Emulator.InjectReply(new HandsetReply(China1.E164, "Y"));
        var replies = await bed.Sender.PullRepliesAsync();

        var reply = Assert.Single(replies);
        Assert.Equal((VendorNames.Tencent, China1.E164, "Y", (string?)null), (reply.Vendor, reply.Mobile, reply.Text, reply.Extend));
        Assert.Empty(await bed.Sender.PullRepliesAsync());
    }

    [Fact]
    public async Task Pullstatus4mobile_finds_one_numbers_statuses_and_replies_in_a_time_range()
    {
        await using var bed = await TencentTestBed.StartAsync();
        await using var receiver = await PushReceiver.StartAsync(answer: TencentAcknowledgement.Ok);
        bed.Emulator.ReplyCallbackUrl = receiver.Url("reply");
        var receipt = await SendAsync(bed, China1, China2);
        bed.Emulator.InjectReply(new HandsetReply(China1.E164, "thanks"));
        await Task.Delay(20);
        var now = DateTimeOffset.UtcNow;
        var tel = TencentTel.From(China1);

        var statuses = await bed.Client.PullStatusForMobileAsync(tel, now.AddHours(-1), now.AddHours(1));
        var replies = await bed.Client.PullRepliesForMobileAsync(tel, now.AddHours(-1), now.AddHours(1));
        var earlier = await bed.Client.PullStatusForMobileAsync(tel, now.AddHours(-2), now.AddHours(-1));

        Assert.Equal(receipt.Results[0].MessageId, Assert.Single(statuses.Data).Sid);
        Assert.Equal(1, statuses.Count);
        Assert.Equal("thanks", Assert.Single(replies.Data).Text);
        Assert.Empty(earlier.Data);
        var body = System.Text.Json.Nodes.JsonNode.Parse(bed.Calls("pullstatus4mobile")[0].Body)!;
        Assert.Equal(("86", "13788888888"), ((string?)body["nationcode"], (string?)body["mobile"]));
    }

    [Fact]
    public async Task The_http_controls_script_outcomes_and_inject_replies()
    {
        await using var bed = await TencentTestBed.StartAsync();
        using var http = new HttpClient { BaseAddress = bed.Host.BaseUrlFor(VendorNames.Tencent) };

        using (var scripted = await http.PutAsJsonAsync("_script/%2B8613788888888", new { outcome = (int)DeliveryOutcome.Failed, afterMs = 10, failureCode = "POWEROFF" }))
            Assert.True(scripted.IsSuccessStatusCode);
        using (var replied = await http.PostAsJsonAsync("_handset/replies", new { mobile = "+8613788888889", text = "hello" }))
            Assert.True(replied.IsSuccessStatusCode);
        await SendAsync(bed, China1);
        await Task.Delay(20);

        var report = Assert.Single(await bed.Sender.PullDeliveryReportsAsync());
        Assert.Equal(("POWEROFF", DeliveryStatus.Failed), (report.VendorCode, report.Status));
        Assert.Equal(China2.E164, Assert.Single(await bed.Sender.PullRepliesAsync()).Mobile);
    }
}
