using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Activities;
using SmsActivities.Emulators;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;

namespace SmsActivities.Tests.Plugin;

public sealed class TelemetryTests
{
    [Fact]
    public async Task Sends_reports_and_resume_latency_are_measured_and_traced_with_vendor_and_message_ids()
    {
        await using var bed = await PluginTestBed.StartAsync([new CodeWorkflow("measured", f =>
        {
            var send = f.Add(new SendSms { Id = "send", Vendor = new(VendorNames.Tencent), Recipients = new("+8613800138001,+8613800138002"), Text = new("hi") });
            f.Connect(send, f.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(TimeSpan.FromSeconds(30)) }), SendSms.Sent);
        })]);
        // Reports a little after the send, so the wait has begun and is resumed by them: a report stored before the wait
        // begins is counted when it begins, with no resume to measure.
        // The test bed runs the emulators' clock a thousand times fast: 3 s here, not 3 ms (which, once reports were
        // processed faster, let both reports in before the wait began, 3 runs in 4).
        bed.Tencent.Script.Default = DeliveryPlan.Deliver(TimeSpan.FromSeconds(3) / bed.Emulators.Set.Clock.Scale);
        var factory = bed.Services.GetRequiredService<IMeterFactory>();
        var measurements = new ConcurrentQueue<(string Name, double Value, string? Vendor)>();
        using var listener = new MeterListener();
        // Only this host's meter: other tests run their own hosts in parallel.
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Scope == factory) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Enqueue((i.Name, v, VendorOf(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Enqueue((i.Name, v, VendorOf(tags))));
        listener.Start();
        var spans = new ConcurrentQueue<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == SmsTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(activityListener);

        var run = await bed.RunAsync("measured");
        await bed.WaitForFinishAsync(run.InstanceId);

        // Counted against what the step reports (on a loaded machine the emulator may time out one recipient).
        var sent = (await bed.OutputsAsync(run.InstanceId, "send"))["SentCount"]!.GetValue<int>();
        Assert.InRange(sent, 1, 2);
        Assert.Equal(sent, measurements.Where(m => m.Name == "sms.messages.sent" && m.Vendor == VendorNames.Tencent).Sum(m => m.Value));
        Assert.Equal(2 - sent, measurements.Where(m => m.Name == "sms.messages.failed").Sum(m => m.Value));
        // A report is counted (and its span ends) once the push that carried it has run every workflow it resumed,
        // which can be just after the instance is seen finished.
        var messageIds = (await bed.OutputsAsync(run.InstanceId, "send"))["MessageIds"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (measurements.Where(m => m.Name == "sms.reports.received").Sum(m => m.Value) < sent
               || spans.Count(s => s.OperationName == "sms.report" && messageIds.Contains((string?)s.GetTagItem("sms.message_id"))) < sent)
        {
            if (DateTime.UtcNow > deadline) break;
            await Task.Delay(50);
        }
        Assert.Equal(sent, measurements.Where(m => m.Name == "sms.reports.received").Sum(m => m.Value));
        Assert.Contains(measurements, m => m.Name == "sms.report.resume_latency" && m.Value >= 0 && m.Vendor == VendorNames.Tencent);
        var sendSpan = spans.Single(s => s.OperationName == "sms.send_activity" && (string?)s.GetTagItem("workflow.instance_id") == run.InstanceId);
        Assert.All(messageIds, id => Assert.Contains(id, (string)sendSpan.GetTagItem("sms.message_ids")!, StringComparison.Ordinal));
        Assert.Equal(messageIds.Order(), spans.Where(s => s.OperationName == "sms.report" && messageIds.Contains((string?)s.GetTagItem("sms.message_id"))).Select(s => (string)s.GetTagItem("sms.message_id")!).Distinct().Order());
    }

    private static string? VendorOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
            if (tag.Key == "vendor") return tag.Value as string;
        return null;
    }
}
