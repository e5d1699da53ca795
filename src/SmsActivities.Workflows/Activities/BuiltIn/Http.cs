using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>
/// Trigger and bookmark payload of <see cref="HttpEndpoint"/>: a route template (lower case, no surrounding slashes), a
/// method, the body fields to mask before the request is stored, and the request header whose value makes a request
/// idempotent. Null <see cref="SensitiveFields"/> and <see cref="IdempotencyHeader"/> are left out of the
/// JSON, so endpoints without them hash as they always did.
/// </summary>
public sealed record HttpEndpointPayload(string Path, string Method, IReadOnlyList<string>? SensitiveFields = null, string? IdempotencyHeader = null)
{
    public static HttpEndpointPayload Create(string path, string method, IEnumerable<string>? sensitiveFields = null, string? idempotencyHeader = null)
    {
        var fields = sensitiveFields?.Select(f => f.Trim()).Where(f => f.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var header = string.IsNullOrWhiteSpace(idempotencyHeader) ? null : idempotencyHeader.Trim().ToLowerInvariant();
        return new(path.Trim().Trim('/').ToLowerInvariant(), method.Trim().ToUpperInvariant(), fields is { Count: > 0 } ? fields : null, header);
    }
}

[Activity("Elsa", "HTTP", "Handles an HTTP request under the workflow HTTP prefix: starts the workflow, or resumes it when reached.")]
[FlowNode("Done", BlockingActivity.TimeoutOutcome)]
public sealed class HttpEndpoint : BlockingTrigger
{
    /// <summary>
    /// Key of the live request (a <see cref="JsonObject"/>, sensitive fields unmasked) in the request's
    /// <see cref="HttpContext.Items"/>: what was stored has them masked.
    /// </summary>
    internal const string LiveRequestKey = "workflow-http-request";

    [Input(Description = "The path, relative to the workflow HTTP prefix; may hold route parameters such as orders/{id}.", IsRequired = true)]
    public Input<string> Path { get; set; } = new("");

    [Input(Description = "The HTTP methods handled.", UIHint = InputUIHints.CheckList, Options = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])]
    public Input<List<string>> SupportedMethods { get; set; } = new(["GET"]);

    [Input(Description = "Body fields that hold secrets (e.g. code, password): masked before the request is stored, so they exist only in memory while the workflow runs.", UIHint = InputUIHints.MultiText)]
    public Input<List<string>?>? SensitiveFields { get; set; }

    [Input(Description = "A request header (e.g. Idempotency-Key) whose value names the request, whether it starts the workflow or resumes it on the way. A repeat with the same value runs nothing and is answered with the first request's answer (409 while the first is still running, 422 when its body differs).")]
    public Input<string?>? IdempotencyHeader { get; set; }

    [Output(Description = "The body: parsed JSON, form fields, or text.")]
    public Output<object?> ParsedContent { get; set; } = new();

    [Output(Description = "Route parameters.")]
    public Output<Dictionary<string, string>> RouteData { get; set; } = new();

    [Output(Description = "Query string values.")]
    public Output<Dictionary<string, string>> QueryStringData { get; set; } = new();

    [Output(Description = "The request headers the server keeps (an allow-list; never Authorization, Cookie or API keys).")]
    public Output<Dictionary<string, string>> Headers { get; set; } = new();

    [Output(Description = "The client's address: the connection's, or the one a trusted proxy forwarded (for per-client limits).")]
    public Output<string?> RemoteIpAddress { get; set; } = new();

    [Output(Description = "The request method.")]
    public Output<string> Method { get; set; } = new();

    protected override IEnumerable<object> GetTriggerPayloads(TriggerIndexingContext context) =>
        Payloads(context.Get(Path), context.Get(SupportedMethods), context.Get(SensitiveFields), context.Get(IdempotencyHeader));

    private static IEnumerable<HttpEndpointPayload> Payloads(string? path, List<string>? methods, List<string>? sensitiveFields, string? idempotencyHeader = null) =>
        (methods is { Count: > 0 } ? methods : ["GET"]).Select(m => HttpEndpointPayload.Create(path ?? "", m, sensitiveFields, idempotencyHeader));

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        if (context.IsTriggerOfWorkflow()) return ReceiveAsync(context, context.TriggerInput);
        // The header names a request that resumes, too: a client's retry must not run the step after the wait again.
        var payloads = Payloads(context.Get(Path), context.Get(SupportedMethods), context.Get(SensitiveFields), context.Get(IdempotencyHeader)).ToList();
        WaitFor(context, payloads[0], OnRequestAsync);
        foreach (var payload in payloads.Skip(1)) context.CreateBookmark(payload, OnRequestAsync);
        return ValueTask.CompletedTask;
    }

    private ValueTask OnRequestAsync(ActivityExecutionContext context) => ReceiveAsync(context, context.ResumeInput);

    private ValueTask ReceiveAsync(ActivityExecutionContext context, JsonObject? stored)
    {
        // Runs started or resumed by a request run in its flow; marking the instance as the request's own keeps a
        // WriteHttpResponse of another instance (resumed along the way, e.g. by an event this one published) from answering it.
        var http = context.GetService<IHttpContextAccessor>()?.HttpContext;
        if (http != null) http.Items[AnsweredBy(context.WorkflowInstanceId)] = true;
        // The live request has the sensitive fields the stored one masks; a run without it (a retry after a crash) sees the mask.
        var request = http?.Items[LiveRequestKey] as JsonObject ?? stored;
        foreach (var field in context.Get(SensitiveFields) ?? [])
            if (request?["body"] is JsonObject body && body[field] is JsonValue secret) context.MarkSecret(secret.ToString());
        context.Set(ParsedContent, ValueConverter.ToPlain(request?["body"]));
        context.Set(RouteData, ValueConverter.Convert<Dictionary<string, string>>(request?["routeData"]) ?? []);
        context.Set(QueryStringData, ValueConverter.Convert<Dictionary<string, string>>(request?["query"]) ?? []);
        context.Set(Headers, ValueConverter.Convert<Dictionary<string, string>>(request?["headers"]) ?? []);
        context.Set(Method, request?["method"]?.GetValue<string>() ?? "");
        context.Set(RemoteIpAddress, request?["remoteIpAddress"]?.GetValue<string>());
        IdempotentResponse.Expect(context, request?["idempotencyKey"] is JsonValue key ? key.ToString() : "");
        return context.CompleteActivityAsync();
    }

    /// <summary>The key in the request's <see cref="HttpContext.Items"/> that says an instance may answer it.</summary>
    internal static string AnsweredBy(string workflowInstanceId) => "workflow-instance:" + workflowInstanceId;

    /// <summary>The request this run of the instance may answer: the one its <see cref="HttpEndpoint"/> received in this flow, if any.</summary>
    internal static HttpContext? RequestOf(ActivityExecutionContext context) =>
        context.GetService<IHttpContextAccessor>()?.HttpContext is { } http && http.Items.ContainsKey(AnsweredBy(context.WorkflowInstanceId)) ? http : null;
}

[Activity("Elsa", "HTTP", "Writes the response to the HTTP request that started or resumed the workflow.")]
public sealed class WriteHttpResponse : Activity
{
    [Input(Description = "The status code (e.g. OK, 201).", UIHint = InputUIHints.DropDown)]
    public Input<HttpStatusCode> StatusCode { get; set; } = new(HttpStatusCode.OK);

    [Input(Description = "The body: text is written as is, anything else as JSON.", UIHint = InputUIHints.MultiLine)]
    public Input<object?>? Content { get; set; }

    [Input(Description = "The content type; defaults to text/plain for text and application/json otherwise.")]
    public Input<string?>? ContentType { get; set; }

    [Input(Description = "Extra response headers.", UIHint = InputUIHints.JsonEditor)]
    public Input<Dictionary<string, string>?>? ResponseHeaders { get; set; }

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var content = context.Get(Content);
        var answer = new RecordedHttpResponse(
            (int)context.Get(StatusCode),
            context.Get(ContentType) is { Length: > 0 } type ? type : content is string or null ? "text/plain; charset=utf-8" : "application/json",
            context.Get(ResponseHeaders) ?? [],
            content switch
            {
                null => "",
                string s => s,
                _ => JsonSerializer.Serialize(content, WorkflowJson.Options),
            });
        // Kept even when the request is gone (its client gave up, or this is the re-run after a crash): the repeat gets it.
        IdempotentResponse.Record(context, answer);
        if (HttpEndpoint.RequestOf(context) is not { } http || http.Response.HasStarted)
        {
            context.Log("No HTTP request to answer: the workflow was not started or resumed by one, or it was answered already.");
            await context.CompleteActivityAsync();
            return;
        }
        await answer.WriteAsync(http.Response, context.CancellationToken);
        await context.CompleteActivityAsync();
    }
}
