using SmsActivities.Activities;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Tests.Plugin;

/// <summary>SendSms with a text per recipient: a recipients list of {mobile, text} objects, through the router to the emulators.</summary>
public sealed class PerRecipientSendTests
{
    private const string A = "+8613800138001";
    private const string B = "+8613800138002";
    private const string C = "+8613800138003";

    private static Input<object?> Script(string javaScript) => new(Expression.JavaScript(javaScript));

    [Fact]
    public async Task Each_recipient_gets_its_own_text_through_one_multi_send()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("own-texts", f => f.Add(new SendSms
        {
            Id = "send",
            Vendor = new(VendorNames.Yunpian),
            Recipients = Script($"[{{ mobile: '{A}', text: '【SmsSandbox】Hi Zhang, A&B shipped' }}, '{B}', {{ mobile: '13800138003', text: '【SmsSandbox】Hi Li, 100%' }}]"),
            Text = new("【SmsSandbox】Hello everyone"),
        }))]);

        var run = await bed.RunAsync("own-texts");

        var outputs = await bed.OutputsAsync(run.InstanceId, "send");
        Assert.True((await bed.OutcomesAsync(run.InstanceId, "send")).SequenceEqual([SendSms.Sent]), outputs.ToJsonString());
        Assert.Equal([A, B, C], outputs["Results"]!.AsArray().Select(r => r!["mobile"]!.GetValue<string>()));
        Assert.Single(bed.Emulators.Set.Requests.For(VendorNames.Yunpian), r => r.Path.EndsWith("/multi_send.json", StringComparison.Ordinal));
        var sent = bed.Emulators.Set.Yunpian.Sent;
        Assert.Equal(["【SmsSandbox】Hi Zhang, A&B shipped", "【SmsSandbox】Hello everyone", "【SmsSandbox】Hi Li, 100%"],
            new[] { A, B, C }.Select(m => Assert.Single(sent, s => s.E164 == m).Text));
    }

    [Fact]
    public async Task On_failover_a_refused_recipient_takes_its_own_text_to_the_next_vendor()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("failover-own", f =>
        {
            // Yunpian refuses the same text to the same number within 30 seconds: the first send makes it refuse B's next one.
            var first = f.Add(new SendSms { Id = "first", Vendor = new(VendorNames.Yunpian), Recipients = new(B), Text = new("【SmsSandbox】for B only") });
            var second = f.Add(new SendSms
            {
                Id = "send",
                Vendor = new(VendorNames.Yunpian),
                Failover = new(VendorNames.Tencent),
                Recipients = Script($"[{{ mobile: '{A}', text: '【SmsSandbox】for A only' }}, {{ mobile: '{B}', text: '【SmsSandbox】for B only' }}, {{ mobile: '{C}', text: '【SmsSandbox】for C only' }}]"),
            });
            f.Connect(first, second, SendSms.Sent);
        })]);

        var run = await bed.RunAsync("failover-own");

        var outputs = await bed.OutputsAsync(run.InstanceId, "send");
        Assert.True((await bed.OutcomesAsync(run.InstanceId, "send")).SequenceEqual([SendSms.Sent]), outputs.ToJsonString());
        Assert.Equal([VendorNames.Yunpian, VendorNames.Tencent, VendorNames.Yunpian], outputs["Results"]!.AsArray().Select(r => r!["vendor"]!.GetValue<string>()));
        var tencent = Assert.Single(bed.Tencent.Sent);
        Assert.Equal((B, "【SmsSandbox】for B only"), (tencent.Mobile, tencent.Text));
        Assert.Equal(["【SmsSandbox】for A only", "【SmsSandbox】for C only"],
            new[] { A, C }.Select(m => Assert.Single(bed.Emulators.Set.Yunpian.Sent, s => s.E164 == m).Text));
    }

    [Theory]
    [InlineData("[{ text: 'no number' }]", "recipients[0].mobile")]
    [InlineData("[{ mobile: '" + A + "', txt: 'typo' }]", "recipients[0].txt")]
    [InlineData("[{ mobile: '" + A + "', text: 'fine' }, { mobile: '12', text: 'bad number' }]", "recipients[1].mobile")]
    [InlineData("[{ mobile: '" + A + "', text: 'one' }, { mobile: '" + A + "', text: 'two' }]", "recipients[1]")]
    public async Task Bad_recipient_objects_fail_naming_the_field_before_any_vendor_call(string recipients, string field)
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("bad", f => f.Add(new SendSms
        {
            Id = "send",
            Vendor = new(VendorNames.Yunpian),
            Recipients = Script(recipients),
            Text = new("【SmsSandbox】shared"),
        }))]);

        var run = await bed.RunAsync("bad");

        var outputs = await bed.OutputsAsync(run.InstanceId, "send");
        Assert.Equal([SendSms.Failed], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.StartsWith(field + ":", outputs["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(bed.Emulators.Set.Requests.For(VendorNames.Yunpian));
    }

    [Fact]
    public async Task A_recipient_text_over_the_limit_fails_the_send_naming_it_before_any_vendor_call()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("long", f => f.Add(new SendSms
        {
            Id = "send",
            Vendor = new(VendorNames.Yunpian),
            Recipients = Script($"[{{ mobile: '{A}', text: 'fine' }}, {{ mobile: '{B}', text: 'x'.repeat(2000) }}]"),
        }))]);

        var run = await bed.RunAsync("long");

        var outputs = await bed.OutputsAsync(run.InstanceId, "send");
        Assert.Equal([SendSms.Failed], await bed.OutcomesAsync(run.InstanceId, "send"));
        Assert.StartsWith("recipients[1].text:", outputs["Error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(bed.Emulators.Set.Requests.For(VendorNames.Yunpian));
    }
}
