using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using SmsActivities.Hosting;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Server.Tests.Samples;

namespace SmsActivities.Server.Tests.Api;

/// <summary>
/// The server's OpenTelemetry wiring, seen from outside: exported spans (here to an in-memory exporter, as OTLP would
/// get them) and the Prometheus text at <c>/metrics</c>, after a real send and a real report push in sandbox mode.
/// OpenTelemetry listens to meters by name in the whole process, so these run alone: a sample test's server running
/// beside them would add its sends to the counts.
/// </summary>
[Collection(TelemetryCollection.Name)]
public sealed class TelemetryExportTests
{
    private const string Mobile = "+8613800138009";

    [Fact]
    public async Task A_report_push_is_one_trace_from_the_webhook_request_to_the_workflow_resume_and_the_report_is_counted()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        await using var server = await ServerHost.StartAsync(configureServices: services =>
        {
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(spans));
            services.ConfigureOpenTelemetryMeterProvider(meters => meters.AddInMemoryExporter(metrics));
        });
        using var client = server.CreateClient();

        var instanceId = await SendAndWaitForReportAsync(client);

        // The resume the push caused, its parent the inbox processing of the push, whose parent is the webhook span
        // (ended at the acknowledgement, before the processing), its parent the ASP.NET Core request: one trace.
        var resume = await SandboxServer.EventuallyAsync("the resume span", () =>
            spans.ToArray().FirstOrDefault(s => s.OperationName == "workflow.resume" && (string?)s.GetTagItem("workflow.instance_id") == instanceId));
        var processing = await EndedAsync(spans, resume.ParentSpanId);
        Assert.Equal("sms.inbox", processing.OperationName);
        var webhook = await EndedAsync(spans, processing.ParentSpanId);
        Assert.Equal("sms.webhook", webhook.OperationName);
        Assert.Equal("yunpian", webhook.GetTagItem("sms.vendor"));
        var request = await EndedAsync(spans, webhook.ParentSpanId);
        Assert.Equal(ActivityKind.Server, request.Kind);
        Assert.StartsWith("/webhooks/sms/yunpian/status/", (string?)request.GetTagItem("http.route"), StringComparison.Ordinal);
        Assert.Equal("Finished", resume.GetTagItem("workflow.sub_status"));
        Assert.Equal(request.TraceId, resume.TraceId);
        var report = await SandboxServer.EventuallyAsync("the report span", () =>
            spans.ToArray().FirstOrDefault(s => s.OperationName == "sms.report" && s.TraceId == request.TraceId));
        Assert.Equal("Delivered", report.GetTagItem("sms.status"));

        // The webhook path token never leaves the process, in a span name or any attribute (url.path, url.full, …).
        var token = server.Services.GetRequiredService<IOptions<SmsActivitiesOptions>>().Value.Webhooks.Token!;
        Assert.Contains(spans.ToArray(), s => s.GetTagItem("url.path") is string path && path.StartsWith("/webhooks/sms/yunpian/status/", StringComparison.Ordinal));
        Assert.DoesNotContain(spans.ToArray(), s => s.DisplayName.Contains(token, StringComparison.Ordinal)
            || s.TagObjects.Any(t => t.Value is string v && v.Contains(token, StringComparison.Ordinal)));

        server.Services.GetRequiredService<MeterProvider>().ForceFlush();
        var received = metrics.ToArray().Where(m => m.Name == "sms.reports.received").SelectMany(Points)
            .Where(p => Tag(p, "vendor") == "yunpian" && Tag(p, "status") == "Delivered").Sum(p => p.GetSumLong());
        Assert.Equal(1, received);
    }

    [Fact]
    public async Task Metrics_endpoint_serves_prometheus_text_whose_counters_move_after_a_send_a_report_and_refused_pushes()
    {
        await using var server = await ServerHost.StartAsync();
        using var client = server.CreateClient(withApiKey: false);

        using var before = await client.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.StartsWith("text/plain", before.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Equal(0, Sample(await before.Content.ReadAsStringAsync(), "sms_messages_sent_total", ("vendor", "yunpian")));

        using var api = server.CreateClient();
        await SendAndWaitForReportAsync(api);
        var token = server.Services.GetRequiredService<IOptions<SmsActivitiesOptions>>().Value.Webhooks.Token!;
        using (var malformed = await client.PostAsync($"webhooks/sms/yunpian/status/{token}", new StringContent("sms_status=%7Bnot json", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded")))
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        using (var wrongToken = await client.PostAsync("webhooks/sms/yunpian/status/not-the-token-at-all", new StringContent("")))
            Assert.Equal(HttpStatusCode.NotFound, wrongToken.StatusCode);

        var text = await SandboxServer.EventuallyAsync("the report latency in /metrics", async () =>
        {
            var scraped = await client.GetStringAsync("metrics");
            return Sample(scraped, "sms_report_latency_seconds_count", ("vendor", "yunpian")) >= 1 ? scraped : null;
        });
        Assert.Equal(1, Sample(text, "sms_messages_sent_total", ("vendor", "yunpian"), ("channel", "sms")));
        Assert.Equal(1, Sample(text, "sms_reports_received_total", ("vendor", "yunpian"), ("status", "Delivered")));
        Assert.Equal(1, Sample(text, "sms_report_latency_seconds_count", ("vendor", "yunpian"), ("status", "Delivered")));
        Assert.True(Sample(text, "sms_report_latency_seconds_sum", ("vendor", "yunpian")) > 0);
        Assert.True(Sample(text, "sms_report_resume_latency_milliseconds_count", ("vendor", "yunpian")) >= 1);
        Assert.True(Sample(text, "sms_webhook_pushes_total", ("vendor", "yunpian"), ("kind", "status")) >= 1);
        Assert.Equal(1, Sample(text, "sms_webhook_rejections_total", ("vendor", "yunpian"), ("reason", "malformed")));
        Assert.Equal(1, Sample(text, "sms_webhook_rejections_total", ("vendor", "yunpian"), ("reason", "token")));
        Assert.True(Sample(text, "workflow_runs_total", ("kind", "resume"), ("sub_status", "Finished")) >= 1);
        Assert.Contains("\nworkflow_deliveries_pending", text, StringComparison.Ordinal);
        Assert.Contains("\nhttp_server_request_duration_seconds_bucket", text, StringComparison.Ordinal);
        Assert.DoesNotContain(token, text, StringComparison.Ordinal);
    }

    /// <summary>Start → SendSms (yunpian, one recipient) → WaitForDeliveryReport; returns when the report resumed it.</summary>
    private static async Task<string> SendAndWaitForReportAsync(HttpClient client)
    {
        // The report comes late enough that the workflow is already waiting for it: the push itself resumes it.
        using (var script = await client.PutAsync($"_emulators/yunpian/_script/{Uri.EscapeDataString(Mobile)}",
                   System.Net.Http.Json.JsonContent.Create(new { outcome = "Delivered", afterMs = 2000 })))
            Assert.Equal(HttpStatusCode.NoContent, script.StatusCode);
        var model = ApiScenarios.Chain("Traced send", null,
            (new JsonObject
            {
                ["id"] = "Send1", ["type"] = "SmsActivities.SendSms", ["version"] = 1, ["name"] = "Send1",
                ["vendor"] = ApiScenarios.Literal("String", "yunpian"),
                ["recipients"] = ApiScenarios.Literal("Object", Mobile),
                ["text"] = ApiScenarios.Literal("String", "Your parcel is on its way"),
            }, "Done"),
            (new JsonObject
            {
                ["id"] = "Wait1", ["type"] = "SmsActivities.WaitForDeliveryReport", ["version"] = 1, ["name"] = "Wait1",
                ["sendSmsActivityId"] = ApiScenarios.Literal("String", "Send1"),
                ["timeout"] = ApiScenarios.Literal("TimeSpan", "00:01:00"),
            }, "Sent"));
        var definition = await ApiScenarios.SaveAsync(client, model, publish: true);
        var instanceId = await ApiScenarios.ExecuteAsync(client, (string)definition["definitionId"]!);
        await SandboxServer.EventuallyAsync("the instance to finish", async () =>
        {
            var node = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-instances/{instanceId}"));
            return (string?)node!["subStatus"] == "Finished" ? node : null;
        });
        return instanceId;
    }

    private static Task<Activity> EndedAsync(List<Activity> spans, ActivitySpanId id) =>
        SandboxServer.EventuallyAsync($"span {id} to end", () => spans.ToArray().FirstOrDefault(s => s.SpanId == id));

    private static IEnumerable<MetricPoint> Points(Metric metric)
    {
        foreach (ref readonly var point in metric.GetMetricPoints()) yield return point;
    }

    private static string? Tag(MetricPoint point, string key)
    {
        foreach (var tag in point.Tags)
            if (tag.Key == key) return tag.Value as string;
        return null;
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels include every one of <paramref name="labels"/>.</summary>
    private static double Sample(string text, string name, params (string Key, string Value)[] labels) =>
        text.Split('\n')
            .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
            .Where(line => labels.All(l => line.Contains($"{l.Key}=\"{l.Value}\"", StringComparison.Ordinal)))
            .Sum(line => double.Parse(line[(line.Contains('}', StringComparison.Ordinal) ? line.LastIndexOf('}') + 1 : name.Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "process-wide telemetry";
}
