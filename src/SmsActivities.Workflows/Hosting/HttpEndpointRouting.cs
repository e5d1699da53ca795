using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Workflows.Hosting;

public static class HttpEndpointRouting
{
    private static readonly string HttpEndpointType = ActivityTypeInfo.TypeNameOf(typeof(HttpEndpoint));

    /// <summary>
    /// Serves <see cref="HttpEndpoint"/> activities under <paramref name="prefix"/>: a request is turned
    /// into an <c>Elsa.HttpEndpoint</c> stimulus (route template + method) that starts or resumes the
    /// matching workflows, which answer through <see cref="WriteHttpResponse"/>.
    /// </summary>
    public static IEndpointConventionBuilder MapWorkflowHttpEndpoints(this IEndpointRouteBuilder endpoints, string prefix = "/workflows") =>
        endpoints.Map(prefix.TrimEnd('/') + "/{**path}", HandleAsync);

    private static async Task HandleAsync(HttpContext http)
    {
        var path = (http.Request.RouteValues["path"] as string ?? "").Trim('/');
        var method = http.Request.Method.ToUpperInvariant();
        var services = http.RequestServices;
        var endpoints = await EndpointsAsync(services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>(), method, path, http.RequestAborted);
        var match = endpoints.Select(e => (Endpoint: e, Values: Match(e.Path, path))).Where(m => m.Values != null)
            .OrderByDescending(m => m.Endpoint.Path.Split('/').Count(s => !s.StartsWith('{'))).FirstOrDefault();
        if (match.Values is null)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var options = services.GetService<IOptions<HttpEndpointOptions>>()?.Value ?? new HttpEndpointOptions();
        var idempotencyKey = match.Endpoint.IdempotencyHeader is { } header ? http.Request.Headers[header].ToString() : "";
        if (idempotencyKey.Length > MaxIdempotencyKeyLength || idempotencyKey.Any(char.IsControl))
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsJsonAsync(new { error = $"Header {match.Endpoint.IdempotencyHeader}: at most {MaxIdempotencyKeyLength} characters, none of them control characters." },
                http.RequestAborted);
            return;
        }
        var live = new JsonObject
        {
            ["method"] = method,
            ["path"] = "/" + path,
            ["routeData"] = ToObject(match.Values),
            ["query"] = ToObject(http.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString())),
            ["headers"] = ToObject(http.Request.Headers.Where(h => options.Keeps(h.Key)).ToDictionary(h => h.Key, h => h.Value.ToString())),
            ["remoteIpAddress"] = RemoteAddress(http),
            ["body"] = await ReadBodyAsync(http.Request),
        };
        if (idempotencyKey.Length > 0) live["idempotencyKey"] = idempotencyKey;
        var payload = JsonSerializer.SerializeToNode(match.Endpoint, Model.WorkflowJson.Options);
        // The stored stimulus never holds the sensitive fields: the run gets them from the live request in memory. Nobody
        // waits for a retry of an HTTP request, so one that finds its instance busy too long is dropped, not deferred.
        // A named start is a stimulus with a dedupe key: a repeat (a client retrying after its timeout) starts nothing.
        var dedupeKey = idempotencyKey.Length > 0 ? $"http:{method} {match.Endpoint.Path}:{idempotencyKey}" : null;
        var stored = Masked(live, match.Endpoint.SensitiveFields);
        var stimulus = new Stimulus(HttpEndpointType, payload, stored) { KeepInInbox = false, DropWhenBusy = true, DedupeKey = dedupeKey };
        // The runs it starts or resumes happen in this request's flow, where HttpEndpoint and WriteHttpResponse find the request.
        http.Items[HttpEndpoint.LiveRequestKey] = live;
        var result = await services.GetRequiredService<WorkflowRuntime>().SendStimulusAsync(stimulus, http.RequestAborted);
        if (http.Response.HasStarted) return;
        if (result.Duplicate && dedupeKey != null)
        {
            await AnswerRepeatAsync(http, dedupeKey, idempotencyKey, stored);
            return;
        }
        if (result.Runs.Count == 0 && result.Dropped > 0)
        {
            // Nothing was done, so the client's retry is a new request, not a repeat to be turned away by its key.
            if (dedupeKey != null) await ReleaseKeyAsync(services, dedupeKey, http.RequestAborted);
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            http.Response.Headers.RetryAfter = "1";
            await http.Response.WriteAsJsonAsync(new { error = "The workflow is busy with another request; nothing was done. Try again." }, http.RequestAborted);
            return;
        }
        http.Response.StatusCode = result.Runs.Any(r => r.SubStatus == WorkflowSubStatus.Faulted) ? StatusCodes.Status500InternalServerError
            : result.Runs.Count > 0 ? StatusCodes.Status200OK
            : result.Deferred > 0 ? StatusCodes.Status202Accepted
            : StatusCodes.Status404NotFound;
        if (result.Runs.FirstOrDefault() is { } run) http.Response.Headers["x-elsa-workflow-instance-id"] = run.InstanceId;
    }

    private const int MaxIdempotencyKeyLength = 255;

    /// <summary>Forgets a named request that found its instance busy and was dropped (its delivery is gone, so nothing can run it).</summary>
    private static async Task ReleaseKeyAsync(IServiceProvider services, string dedupeKey, CancellationToken cancellationToken)
    {
        await using var db = await services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync(cancellationToken);
        await db.Stimuli.Where(s => s.DedupeKey == dedupeKey && !db.Deliveries.Any(d => d.StimulusId == s.Id)).ExecuteDeleteAsync(cancellationToken);
    }

    /// <summary>
    /// A repeat of an idempotent request gets the first request's answer, replayed from the instance it started (whose id
    /// is the first request's stimulus id) or resumed (recorded on the stimulus), kept there under its idempotency key.
    /// Until that instance has answered: 409 and Retry-After, as for a request still in progress; the same key with
    /// another body: 422, because the client is not repeating itself.
    /// </summary>
    private static async Task AnswerRepeatAsync(HttpContext http, string dedupeKey, string idempotencyKey, JsonObject request)
    {
        var cancellationToken = http.RequestAborted;
        await using var db = await http.RequestServices.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync(cancellationToken);
        var first = await db.Stimuli.Where(s => s.DedupeKey == dedupeKey).Select(s => new { s.Id, s.InstanceId, s.InputJson }).FirstOrDefaultAsync(cancellationToken);
        // The first request's input is blanked after a while (the runtime's retention): from then on bodies cannot be compared.
        if (first?.InputJson is { } input && !JsonNode.DeepEquals(JsonNode.Parse(input)?["body"], request["body"]))
        {
            http.Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
            await http.Response.WriteAsJsonAsync(new { error = "This idempotency key was used before with a different request body; use a new key for a new request." }, cancellationToken);
            return;
        }
        var instanceId = first is null ? null : first.InstanceId ?? first.Id;
        var stateJson = instanceId is null ? null : await db.Instances.Where(i => i.Id == instanceId).Select(i => i.StateJson).FirstOrDefaultAsync(cancellationToken);
        // The answer is in the state's properties; the request's input (in its own column) is not needed for it.
        var answer = stateJson is null ? null : IdempotentResponse.Of(JsonSerializer.Deserialize<WorkflowState>(stateJson, Model.WorkflowJson.Options)!, idempotencyKey);
        if (instanceId != null) http.Response.Headers["x-elsa-workflow-instance-id"] = instanceId;
        if (answer is null)
        {
            http.Response.StatusCode = StatusCodes.Status409Conflict;
            http.Response.Headers.RetryAfter = "1";
            await http.Response.WriteAsJsonAsync(new { error = "A request with this idempotency key is still being processed; try again." }, cancellationToken);
            return;
        }
        http.Response.Headers["Idempotent-Replayed"] = "true";
        await answer.WriteAsync(http.Response, cancellationToken);
    }

    /// <summary>The connection's address, which the server's forwarded-headers handling has replaced when a trusted proxy forwarded the request.</summary>
    private static string? RemoteAddress(HttpContext http) =>
        http.Connection.RemoteIpAddress is { } address ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString() : null;

    private static JsonObject Masked(JsonObject request, IReadOnlyList<string>? sensitiveFields)
    {
        var copy = request.DeepClone().AsObject();
        if (sensitiveFields is null || copy["body"] is not JsonObject body) return copy;
        foreach (var field in sensitiveFields)
            if (body.ContainsKey(field)) body[field] = "******";
        return copy;
    }

    /// <summary>
    /// The endpoints that may answer this method and path, published triggers plus waiting bookmarks, found by their
    /// indexed route keys (the templates that could match the path); <see cref="Match"/> then picks among them.
    /// </summary>
    private static async Task<List<HttpEndpointPayload>> EndpointsAsync(IDbContextFactory<WorkflowDbContext> factory, string method, string path, CancellationToken cancellationToken)
    {
        var keys = HttpRouteKey.ForRequest(method, path);
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        // Many instances waiting at one route hold the same payload: the database returns it once.
        var payloads = await db.Triggers.Where(t => t.RouteKey != null && keys.Contains(t.RouteKey)).Select(t => t.PayloadJson)
            .Union(db.Bookmarks.Where(b => b.RouteKey != null && keys.Contains(b.RouteKey)).Select(b => b.PayloadJson))
            .ToListAsync(cancellationToken);
        return payloads.Where(p => p != null).Select(p => JsonSerializer.Deserialize<HttpEndpointPayload>(p!, Model.WorkflowJson.Options)!)
            .Where(p => p.Method == method).DistinctBy(p => JsonSerializer.Serialize(p, Model.WorkflowJson.Options)).ToList();
    }

    /// <summary>Matches <c>orders/{id}</c> against <c>orders/42</c>, case-insensitively for literal segments.</summary>
    internal static Dictionary<string, string>? Match(string template, string path)
    {
        var t = template.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var p = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (t.Length != p.Length) return null;
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < t.Length; i++)
        {
            if (t[i].StartsWith('{') && t[i].EndsWith('}')) values[t[i][1..^1].Split(':')[0]] = Uri.UnescapeDataString(p[i]);
            else if (!string.Equals(t[i], p[i], StringComparison.OrdinalIgnoreCase)) return null;
        }
        return values;
    }

    private static async Task<JsonNode?> ReadBodyAsync(HttpRequest request)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            return ToObject(form.ToDictionary(f => f.Key, f => f.Value.ToString()));
        }
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        if (text.Length == 0) return null;
        if (request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
        {
            try { return JsonNode.Parse(text); }
            catch (JsonException) { return text; }
        }
        return text;
    }

    private static JsonObject ToObject(Dictionary<string, string> values)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in values) obj[key] = value;
        return obj;
    }
}
