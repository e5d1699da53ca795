using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Activities;
using SmsActivities.Emulators;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Tests.Plugin;

/// <summary>SendSms with Resend failed of: its recipients are an earlier send's failures, read from the send records.</summary>
public sealed class ResendFailedTests
{
    private const string A = "+8613800138101", B = "+8613800138102", C = "+8613800138103";

    /// <summary>start → Send1 (Yunpian) → Event "resend" → Resend (Tencent, Resend failed of Send1).</summary>
    private static CodeWorkflow SendThenResend(string id) => new(id, f =>
    {
        var send = f.Add(new SendSms { Id = "Send1", Vendor = new(VendorNames.Yunpian), Recipients = new(string.Join(",", A, B, C)), Text = new("【SmsSandbox】Spring sale") });
        var go = f.Add(new Event("resend") { Id = "go" });
        var resend = f.Add(new SendSms { Id = "Resend", Vendor = new(VendorNames.Tencent), ResendFailedOf = new("Send1"), Text = new("Spring sale") });
        foreach (var port in new[] { SendSms.Sent, SendSms.PartiallySent, SendSms.Failed }) f.Connect(send, go, port);
        f.Connect(go, resend);
    });

    [Fact]
    public async Task A_resend_that_died_inside_the_vendor_call_keeps_to_the_failures_it_began_with()
    {
        await using var bed = await PluginTestBed.StartAsync([SendThenResend("resend-pin")], configureRuntime: o =>
            // The retried delivery falls due this long after it was recorded: time for the inline run to "crash" and for
            // the test to store a new failure in between.
            o.LeaseWaitTimeout = TimeSpan.FromSeconds(3));
        var yunpian = bed.Emulators.Set.Yunpian;
        yunpian.Script.For(A, DeliveryPlan.Fail("UNDELIV")).For(B, DeliveryPlan.Fail("UNDELIV")).For(C, DeliveryPlan.NeverReport);
        var started = await bed.RunAsync("resend-pin");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await bed.WithDbAsync(db => db.DeliveryReports.CountAsync()) < 2 && DateTime.UtcNow < deadline) await Task.Delay(20);

        // The resend's call is held by the vendor when the "process" dies.
        bed.Tencent.Faults.DelayNextCalls(1, TimeSpan.FromDays(1));
        int TencentCalls() => bed.Emulators.Set.Requests.For(VendorNames.Tencent).Count(r => r.Path.Contains("send", StringComparison.Ordinal));
        using var crash = new CancellationTokenSource();
        var run = bed.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "resend" }), crash.Token);
        while (TencentCalls() == 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
        await crash.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);

        // C's report says failed only now, before the re-run: it was not among the failures when the resend began.
        var messageOfC = await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().Where(r => r.ActivityId == "Send1" && r.Mobile == C).Select(r => r.MessageId).SingleAsync());
        await bed.WithDbAsync(async db =>
        {
            db.DeliveryReports.Add(new DeliveryReportEntity { Vendor = VendorNames.Yunpian, MessageId = messageOfC!, Status = nameof(DeliveryStatus.Failed), Code = "UNDELIV", ReceivedAtTicks = DateTimeOffset.UtcNow.UtcTicks });
            return await db.SaveChangesAsync();
        });
        await bed.WaitForFinishAsync(started.InstanceId);

        var resent = await bed.WithDbAsync(db => db.SendRecords.AsNoTracking().Where(r => r.ActivityId == "Resend").Select(r => r.Mobile).ToListAsync());
        Assert.Equal([A, B], resent.Order());
        // The held call is the only one: A and B are in doubt (it may have reached them), and C, never begun, is not sent.
        Assert.Equal(1, TencentCalls());
        Assert.Equal([SendSms.Unknown], await bed.OutcomesAsync(started.InstanceId, "Resend"));
        var outputs = await bed.OutputsAsync(started.InstanceId, "Resend");
        Assert.Equal([A, B], outputs["InDoubtRecipients"]!.AsArray().Select(n => n!.GetValue<string>()).Order());
    }

    [Fact]
    public async Task A_resend_of_a_send_without_failures_fails_naming_the_input()
    {
        await using var bed = await PluginTestBed.StartAsync([SendThenResend("resend-none")]);
        var started = await bed.RunAsync("resend-none");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await bed.WithDbAsync(db => db.DeliveryReports.CountAsync()) < 3 && DateTime.UtcNow < deadline) await Task.Delay(20);

        await bed.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new JsonObject { ["eventName"] = "resend" }));
        await bed.WaitForFinishAsync(started.InstanceId);

        Assert.Equal([SendSms.Failed], await bed.OutcomesAsync(started.InstanceId, "Resend"));
        var error = (await bed.OutputsAsync(started.InstanceId, "Resend"))["Error"]!.GetValue<string>();
        Assert.StartsWith("resendFailedOf:", error, StringComparison.Ordinal);
        Assert.Contains("'Send1'", error, StringComparison.Ordinal);
        Assert.Empty(bed.TencentSends());
    }
}
