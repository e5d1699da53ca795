using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmsActivities.ElsaApi;
using SmsActivities.Server.Hosting;

namespace SmsActivities.Server.Insights;

/// <summary>
/// The insights page at <c>/insights</c>: a static page (with the chart library the build installed from npm) whose
/// numbers all come from <c>/insights/api/…</c>, behind the same API key as the management API. Like Studio's host
/// page, the page itself carries the key only when it is the documented sandbox/development default.
/// </summary>
public static class InsightsEndpoints
{
    public const string PathBase = "/insights";
    private const string ChartFile = "chart.umd.min.js";
    private static readonly TimeSpan DefaultRange = TimeSpan.FromHours(24);
    private static readonly TimeSpan LongestRange = TimeSpan.FromDays(400);

    public static IServiceCollection AddInsights(this IServiceCollection services) => services.AddSingleton<InsightsQueries>();

    /// <summary>The chart library's browser bundle: configuration, then where the build installed it.</summary>
    public static string? ResolveChartScript(ServerOptions options, IHostEnvironment environment)
    {
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.ChartScriptPath)) candidates.Add(options.ChartScriptPath);
        candidates.Add(Path.Combine(environment.ContentRootPath, "insights-npm", "node_modules", "chart.js", "dist", ChartFile));
        var built = typeof(InsightsEndpoints).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "InsightsChartDir")?.Value;
        if (!string.IsNullOrEmpty(built)) candidates.Add(Path.Combine(built, ChartFile));
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists);
    }

    /// <summary>Maps the page and its API; the API behind the management API's authorization (its key, or the host's own policy).</summary>
    public static IEndpointRouteBuilder MapInsights(this IEndpointRouteBuilder routes, string? chartScript)
    {
        routes.MapGet(PathBase, WritePageAsync).ExcludeFromDescription();
        routes.MapGet(PathBase + "/insights.js", () => Results.Text(Resource("insights.js"), "text/javascript; charset=utf-8")).ExcludeFromDescription();
        routes.MapGet(PathBase + "/" + ChartFile, () => chartScript is null
            ? Results.Text("The chart library is not installed. It is installed by the build (npm ci in src/SmsActivities.Server/insights-npm); " +
                           "run `dotnet build src/SmsActivities.Server` with npm on the PATH, or set Server:ChartScriptPath.", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.File(chartScript, "text/javascript; charset=utf-8")).ExcludeFromDescription();

        var api = routes.MapGroup(PathBase + "/api").WithTags("Insights")
            .RequireAuthorization(routes.ServiceProvider.GetRequiredService<IOptions<ElsaApiOptions>>().Value.AuthorizationPolicy!);
        api.MapGet("/campaigns", async (HttpRequest request, InsightsQueries queries, TimeProvider time, CancellationToken ct) =>
        {
            var (filter, error) = ParseFilter(request, time);
            return filter is null
                ? Results.Problem(error, statusCode: StatusCodes.Status400BadRequest)
                : Results.Ok(await queries.CampaignsAsync(filter, ct).ConfigureAwait(false));
        });
        api.MapGet("/campaigns/{instanceId}", async (string instanceId, string? vendor, InsightsQueries queries, CancellationToken ct) =>
            await queries.CampaignAsync(instanceId, vendor, ct).ConfigureAwait(false) is { } view
                ? Results.Ok(view)
                : Results.Problem($"instanceId: no SMS send records for instance '{instanceId}'{(vendor is null ? "" : $" and vendor '{vendor}'")}", statusCode: StatusCodes.Status404NotFound));
        api.MapGet("/vendors", async (HttpRequest request, InsightsQueries queries, TimeProvider time, CancellationToken ct) =>
        {
            var (filter, error) = ParseFilter(request, time);
            return filter is null
                ? Results.Problem(error, statusCode: StatusCodes.Status400BadRequest)
                : Results.Ok(await queries.VendorsAsync(filter, ct).ConfigureAwait(false));
        });
        api.MapGet("/records/{id:long}", async (long id, InsightsQueries queries, CancellationToken ct) =>
            await queries.RecordAsync(id, ct).ConfigureAwait(false) is { } record
                ? Results.Ok(record)
                : Results.Problem($"id: no send record {id}", statusCode: StatusCodes.Status404NotFound));
        return routes;
    }

    /// <summary>Query string <c>from</c>, <c>to</c> (ISO 8601; default the last 24 hours), <c>vendor</c>, <c>definition</c>.</summary>
    internal static (InsightsFilter? Filter, string? Error) ParseFilter(HttpRequest request, TimeProvider time)
    {
        var query = request.Query;
        var now = time.GetUtcNow();
        if (!TryTime(query["to"], now, out var to)) return (null, "to: must be an ISO 8601 date and time, e.g. 2026-12-02T09:00:00Z");
        if (!TryTime(query["from"], to - DefaultRange, out var from)) return (null, "from: must be an ISO 8601 date and time, e.g. 2026-12-01T09:00:00Z");
        if (from >= to) return (null, "from: must be before to");
        if (to - from > LongestRange) return (null, $"from: the range may span at most {LongestRange.TotalDays:0} days");
        var vendor = Optional(query["vendor"]);
        var definition = Optional(query["definition"]);
        if (vendor is { Length: > 32 }) return (null, "vendor: at most 32 characters");
        if (definition is { Length: > 128 }) return (null, "definition: at most 128 characters");
        return (new InsightsFilter(from, to, vendor, definition), null);
    }

    private static bool TryTime(string? text, DateTimeOffset fallback, out DateTimeOffset value)
    {
        value = fallback;
        if (string.IsNullOrWhiteSpace(text)) return true;
        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out value);
    }

    private static string? Optional(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static async Task WritePageAsync(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<ServerOptions>>().Value;
        var environment = context.RequestServices.GetRequiredService<IHostEnvironment>();
        var embeddedKey = ApiKeys.IsDefaultKey(options, environment) ? ApiKeys.Effective(options, environment) : null;
        var config = JsonSerializer.Serialize(new { api = PathBase + "/api", studio = "/studio/", apiKey = embeddedKey });
        var page = Resource("insights.html").Replace("/*{{CONFIG}}*/null", config, StringComparison.Ordinal);
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.WriteAsync(page, context.RequestAborted).ConfigureAwait(false);
    }

    private static string Resource(string name) => Resources.GetOrAdd(name, static n =>
    {
        using var stream = typeof(InsightsEndpoints).Assembly.GetManifestResourceStream("SmsActivities.Server.Insights." + n)
            ?? throw new InvalidOperationException(n + " resource missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Resources = new(StringComparer.Ordinal);
}
