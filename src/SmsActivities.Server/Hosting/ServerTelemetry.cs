using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SmsActivities.Telemetry;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.Hosting;

/// <summary>
/// OpenTelemetry for the server: traces of ASP.NET Core, HttpClient, the plug-in (<c>SmsActivities</c>) and the workflow
/// runtime (<c>SmsActivities.Workflows</c>); the same meters plus ASP.NET Core, HttpClient and .NET runtime metrics.
/// Metrics are always scrapeable at <see cref="MetricsPath"/> (Prometheus text format); traces and metrics are also
/// pushed over OTLP when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or a per-signal endpoint) is set.
/// </summary>
public static class ServerTelemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>The service name when <c>OTEL_SERVICE_NAME</c> names none.</summary>
    public const string DefaultServiceName = "smsactivities-server";

    private static readonly string[] Meters = [SmsTelemetry.Name, WorkflowTelemetry.Name, "System.Runtime"];

    public static IServiceCollection AddServerTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var otlpTraces = HasEndpoint(configuration, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        var otlpMetrics = HasEndpoint(configuration, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by the default resource; this is only the fallback.
                if (string.IsNullOrWhiteSpace(configuration["OTEL_SERVICE_NAME"])) resource.AddService(DefaultServiceName);
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(SmsTelemetry.Name, WorkflowTelemetry.Name)
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments(MetricsPath))
                    .AddHttpClientInstrumentation()
                    // Before any exporter: webhook paths carry the path token, which must not leave the process.
                    .AddProcessor(sp => new SecretRedactingSpanProcessor(sp.GetRequiredService<WebhookLogRedaction>()));
                if (otlpTraces) tracing.AddOtlpExporter();
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Meters)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddPrometheusExporter();
                if (otlpMetrics) metrics.AddOtlpExporter();
            });
        return services;
    }

    /// <summary>Serves <see cref="MetricsPath"/>; like <c>/health</c> it needs no API key (scrapers usually reach it on an internal network).</summary>
    public static WebApplication MapServerTelemetry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }

    private static bool HasEndpoint(IConfiguration configuration, string signalVariable) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]) || !string.IsNullOrWhiteSpace(configuration[signalVariable]);
}

/// <summary>Masks the webhook path token wherever a finished span carries it (its name, <c>url.path</c>, <c>url.full</c>, …).</summary>
internal sealed class SecretRedactingSpanProcessor(WebhookLogRedaction redaction) : BaseProcessor<Activity>
{
    public override void OnEnd(Activity data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (redaction.Holds(data.DisplayName)) data.DisplayName = redaction.Redact(data.DisplayName);
        List<KeyValuePair<string, string>>? redacted = null;
        foreach (var tag in data.TagObjects)
        {
            if (tag.Value is string text && redaction.Holds(text)) (redacted ??= []).Add(new(tag.Key, redaction.Redact(text)));
        }
        if (redacted is null) return;
        foreach (var (key, value) in redacted) data.SetTag(key, value);
    }
}
