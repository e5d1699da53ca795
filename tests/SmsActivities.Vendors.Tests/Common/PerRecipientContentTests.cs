using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;

namespace SmsActivities.Vendors.Tests.Common;

/// <summary>
/// A text (or template parameters) per recipient through each vendor's normalized sender, against its emulator on
/// loopback: Yunpian in one multi_send, the others one send per distinct content. Each handset must get its own content.
/// </summary>
public class PerRecipientContentTests
{
    private static readonly IReadOnlyList<PhoneNumber> Three = TestNumbers.Of("+8613800000001", "+8613800000002", "+8613800000003");

    /// <summary>Own texts for the first and third number; the second gets the message's text.</summary>
    private static SmsMessage OwnTexts(string key = "k") => new()
    {
        Recipients = Three,
        Text = "【SmsSandbox】Hello everyone",
        PerRecipient = new Dictionary<string, RecipientContent>
        {
            [Three[0].E164] = new("【SmsSandbox】Hi Zhang, order A&B, 100% shipped"),
            [Three[2].E164] = new("【SmsSandbox】Hi Li, your parcel, is, here"),
        },
        IdempotencyKey = key,
    };

    private static readonly string[] ExpectedTexts = ["【SmsSandbox】Hi Zhang, order A&B, 100% shipped", "【SmsSandbox】Hello everyone", "【SmsSandbox】Hi Li, your parcel, is, here"];

    [Fact]
    public async Task Yunpian_sends_texts_of_their_own_in_one_multi_send()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(VendorNames.Yunpian, host.BaseUrlFor(VendorNames.Yunpian));

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(OwnTexts());

        Assert.Equal(Three.Select(n => n.E164), receipt.Results.Select(r => r.Mobile));
        Assert.All(receipt.Results, r => Assert.True(r.Accepted, $"{r.Mobile}: {r.VendorCode} {r.Error}"));
        var calls = host.Set.Requests.For(VendorNames.Yunpian);
        Assert.Equal(["/v2/sms/multi_send.json"], calls.Select(c => c.Path.Replace("/yunpian", "", StringComparison.Ordinal)));
        Assert.Equal("k", VendorServices.Form(calls[0])["uid"]);
        var sent = host.Set.Yunpian.Sent;
        Assert.Equal(ExpectedTexts, Three.Select(n => Assert.Single(sent, s => s.E164 == n.E164).Text));
        // Each message id is the one the handset's message has.
        Assert.Equal(Three.Select(n => sent.Single(s => s.E164 == n.E164).Sid.ToString(CultureInfo.InvariantCulture)), receipt.Results.Select(r => r.MessageId));
    }

    [Fact]
    public async Task Yunpian_template_parameters_of_their_own_go_out_one_send_per_distinct_set()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(VendorNames.Yunpian, host.BaseUrlFor(VendorNames.Yunpian));
        var templateId = host.Set.Yunpian.SeedTemplate("【SmsSandbox】#name#, your code is #code#");

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage
        {
            Recipients = Three,
            TemplateId = templateId.ToString(CultureInfo.InvariantCulture),
            TemplateParams = [new("name", "friend"), new("code", "0000")],
            PerRecipient = new Dictionary<string, RecipientContent> { [Three[1].E164] = new(TemplateParams: [new("name", "Wang"), new("code", "4321")]) },
            IdempotencyKey = "t",
        });

        Assert.All(receipt.Results, r => Assert.True(r.Accepted, $"{r.Mobile}: {r.VendorCode} {r.Error}"));
        var calls = host.Set.Requests.For(VendorNames.Yunpian);
        Assert.Equal(["/v2/sms/tpl_batch_send.json", "/v2/sms/tpl_single_send.json"], calls.Select(c => c.Path.Replace("/yunpian", "", StringComparison.Ordinal)));
        // Two calls, two idempotency keys: one key on both would make the vendor drop the second where it dedupes.
        Assert.Equal(["t-c0", "t-c1"], calls.Select(c => VendorServices.Form(c)["uid"]));
        Assert.Equal(["【SmsSandbox】friend, your code is 0000", "【SmsSandbox】Wang, your code is 4321", "【SmsSandbox】friend, your code is 0000"],
            Three.Select(n => Assert.Single(host.Set.Yunpian.Sent, s => s.E164 == n.E164).Text));
    }

    [Fact]
    public async Task Tencent_sends_one_call_per_distinct_text_and_each_handset_gets_its_own()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(VendorNames.Tencent, host.BaseUrlFor(VendorNames.Tencent));
        // Tencent sends only texts that fill an approved template.
        host.Set.Tencent.SeedTemplate("{1}");
        var message = OwnTexts() with
        {
            Recipients = [.. Three, PhoneNumber.Parse("+8613800000004")],
        };

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(message);

        Assert.Equal(message.Recipients.Select(n => n.E164), receipt.Results.Select(r => r.Mobile));
        Assert.All(receipt.Results, r => Assert.True(r.Accepted, $"{r.Mobile}: {r.VendorCode} {r.Error}"));
        // The two numbers sharing the message's text go out together through sendmultisms2, the others alone.
        Assert.Equal(["/sendsms", "/sendmultisms2", "/sendsms"], host.Set.Requests.For(VendorNames.Tencent).Select(c => c.Path[c.Path.LastIndexOf('/')..]));
        var sent = host.Set.Tencent.Sent;
        Assert.Equal([.. ExpectedTexts, "【SmsSandbox】Hello everyone"], message.Recipients.Select(n => Assert.Single(sent, s => s.Mobile == n.E164).Text));
        Assert.Equal(message.Recipients.Select(n => sent.Single(s => s.Mobile == n.E164).Sid), receipt.Results.Select(r => r.MessageId));
    }

    [Fact]
    public async Task SendCloud_sends_one_call_per_distinct_set_of_vars()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(VendorNames.SendCloud, host.BaseUrlFor(VendorNames.SendCloud));

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(new SmsMessage
        {
            Recipients = Three,
            TemplateId = "1",
            PerRecipient = Three.Select((n, i) => (n, i)).ToDictionary(x => x.n.E164, x => new RecipientContent(TemplateParams: [new("code", $"10{x.i}")])),
            IdempotencyKey = "s",
        });

        Assert.All(receipt.Results, r => Assert.True(r.Accepted, $"{r.Mobile}: {r.VendorCode} {r.Error}"));
        Assert.Equal(["s-c0", "s-c1", "s-c2"], host.Set.SendCloud.Sent.Select(s => s.SendRequestId));
        Assert.Equal(["100", "101", "102"], Three.Select(n => Assert.Single(host.Set.SendCloud.Sent, s => s.Phone == n.NationalNumber).Content)
            .Select(c => c.Replace("【SendCloud】您的验证码是", "", StringComparison.Ordinal)[..3]));
    }

    [Fact]
    public async Task Yaningai_sends_one_call_per_distinct_text()
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(VendorNames.Yaningai, host.BaseUrlFor(VendorNames.Yaningai));

        var receipt = await sp.GetRequiredService<ISmsSender>().SendSmsAsync(OwnTexts());

        Assert.All(receipt.Results, r => Assert.True(r.Accepted, $"{r.Mobile}: {r.VendorCode} {r.Error}"));
        Assert.Equal(3, host.Set.Requests.For(VendorNames.Yaningai, "/api/v1/sms/sendbatchsms").Count);
        Assert.Equal(ExpectedTexts, Three.Select(n => Assert.Single(host.Set.Yaningai.Messages, s => s.Mobile == n.E164).Content));
    }

    [Theory]
    [InlineData(VendorNames.Yunpian)]
    [InlineData(VendorNames.Tencent)]
    [InlineData(VendorNames.Yaningai)]
    public async Task A_recipient_text_over_the_limit_is_refused_by_its_position_before_any_call(string vendor)
    {
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(vendor, host.BaseUrlFor(vendor));
        var sender = sp.GetRequiredService<ISmsSender>();
        var message = OwnTexts() with
        {
            PerRecipient = new Dictionary<string, RecipientContent>
            {
                [Three[0].E164] = new("【SmsSandbox】fine"),
                [Three[2].E164] = new("【SmsSandbox】" + new string('x', sender.MaxTextLength)),
            },
        };

        var ex = await Assert.ThrowsAsync<VendorValidationException>(() => sender.SendSmsAsync(message));

        Assert.Equal("recipients[2].text", ex.Field);
        Assert.Empty(host.Set.Requests.For(vendor));
    }

    [Fact]
    public async Task A_later_part_a_vendor_rule_refuses_stops_the_whole_send_before_the_first_part_goes_out()
    {
        // Tencent counts the signature it adds against 450 characters: only its own check sees this text is too long,
        // and it belongs to the second content of the send.
        await using var host = await EmulatorHost.StartAsync();
        await using var sp = VendorServices.ForVendor(VendorNames.Tencent, host.BaseUrlFor(VendorNames.Tencent),
            new Dictionary<string, string?> { ["Vendors:Tencent:DefaultSign"] = "Acme" });
        var message = new SmsMessage
        {
            Recipients = Three,
            Text = "short and fine",
            PerRecipient = new Dictionary<string, RecipientContent> { [Three[1].E164] = new(new string('x', 449)) },
        };

        var ex = await Assert.ThrowsAsync<VendorValidationException>(() => sp.GetRequiredService<ISmsSender>().SendSmsAsync(message));

        Assert.Equal("text", ex.Field);
        Assert.Empty(host.Set.Requests.For(VendorNames.Tencent));
    }

    [Fact]
    public void Content_rules_name_the_recipient_position()
    {
        var template = new SmsMessage
        {
            Recipients = Three,
            TemplateId = "1",
            PerRecipient = new Dictionary<string, RecipientContent> { [Three[1].E164] = new("a text on a template send") },
        };
        Assert.Equal("recipients[1].text", Assert.Throws<VendorValidationException>(() => SmsBatching.Validate(template, 500)).Field);

        var paramsWithoutTemplate = new SmsMessage
        {
            Recipients = Three,
            Text = "hi",
            PerRecipient = new Dictionary<string, RecipientContent> { [Three[0].E164] = new(TemplateParams: [new("a", "b")]) },
        };
        Assert.Equal("recipients[0].templateParams", Assert.Throws<VendorValidationException>(() => SmsBatching.Validate(paramsWithoutTemplate, 500)).Field);

        // Without a shared text, a recipient with none of its own has nothing to send.
        var missing = new SmsMessage { Recipients = Three, PerRecipient = new Dictionary<string, RecipientContent> { [Three[0].E164] = new("hi") } };
        Assert.Equal("text", Assert.Throws<VendorValidationException>(() => SmsBatching.Validate(missing, 500)).Field);
    }

    [Fact]
    public void A_subset_of_the_recipients_keeps_each_text_with_its_number()
    {
        // What the router does on failover: the same message, fewer recipients, in another order.
        var subset = OwnTexts() with { Recipients = [Three[2], Three[0]] };

        var parts = SmsBatching.SplitByContent(subset);

        Assert.Equal([("【SmsSandbox】Hi Li, your parcel, is, here", Three[2].E164), ("【SmsSandbox】Hi Zhang, order A&B, 100% shipped", Three[0].E164)],
            parts.Select(p => (p.Message.Text!, Assert.Single(p.Message.Recipients).E164)));
        Assert.Equal([[0], [1]], parts.Select(p => p.Positions));
        Assert.All(parts, p => Assert.Null(p.Message.PerRecipient));
    }
}
