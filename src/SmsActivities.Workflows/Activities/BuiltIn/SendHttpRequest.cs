using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>
/// The request part shared by <see cref="SendHttpRequest"/> and <see cref="FlowSendHttpRequest"/>: sends through the
/// named <see cref="IHttpClientFactory"/> client <see cref="ClientName"/> (configure timeouts, proxies or resilience
/// on it), and sets StatusCode, ParsedContent (JSON when the response says so, else text) and ResponseHeaders.
/// </summary>
public abstract class HttpRequestActivity : Activity
{
    public const string ClientName = "Elsa.SendHttpRequest";
    public const string FailedToConnectOutcome = "Failed to connect";
    public const string TimeoutOutcome = "Timeout";
    public const string UnmatchedStatusCodeOutcome = "Unmatched status code";

    [Input(Description = "The URL to send the request to.", IsRequired = true)]
    public Input<string> Url { get; set; } = new("");

    [Input(Description = "The HTTP method.", UIHint = InputUIHints.DropDown, Options = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])]
    public Input<string> Method { get; set; } = new("GET");

    [Input(Description = "The body: text is sent as is, anything else as JSON.", UIHint = InputUIHints.MultiLine)]
    public Input<object?>? Content { get; set; }

    [Input(Description = "The content type of the body (default text/plain for text, application/json otherwise).")]
    public Input<string?>? ContentType { get; set; }

    [Input(Description = "The Authorization header value.", IsSensitive = true)]
    public Input<string?>? Authorization { get; set; }

    [Input(Description = "Extra request headers.", UIHint = InputUIHints.JsonEditor)]
    public Input<Dictionary<string, string>?>? RequestHeaders { get; set; }

    [Output(Description = "The status code of the response.")]
    public Output<int> StatusCode { get; set; } = new();

    [Output(Description = "The response body: parsed JSON, or text.")]
    public Output<object?> ParsedContent { get; set; } = new();

    [Output(Description = "The response headers.")]
    public Output<Dictionary<string, string>> ResponseHeaders { get; set; } = new();

    /// <summary>Sends the request; null status with an outcome when it could not complete (connect failure or timeout).</summary>
    protected async Task<(int? Status, string? Failure)> SendAsync(ActivityExecutionContext context)
    {
        var factory = context.GetService<IHttpClientFactory>() ?? throw new InvalidOperationException("IHttpClientFactory is not registered.");
        using var request = new HttpRequestMessage(new HttpMethod(context.Get(Method) is { Length: > 0 } m ? m.ToUpperInvariant() : "GET"), context.Get(Url));
        if (context.Get(Content) is { } content)
        {
            var text = content as string ?? JsonSerializer.Serialize(content, WorkflowJson.Options);
            var type = context.Get(ContentType) is { Length: > 0 } t ? t : content is string ? "text/plain" : "application/json";
            request.Content = new StringContent(text, Encoding.UTF8, MediaTypeHeaderValue.Parse(type).MediaType!);
        }
        if (context.Get(Authorization) is { Length: > 0 } authorization) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        foreach (var (name, value) in context.Get(RequestHeaders) ?? []) request.Headers.TryAddWithoutValidation(name, value);
        try
        {
            using var response = await factory.CreateClient(ClientName).SendAsync(request, context.CancellationToken);
            var body = await response.Content.ReadAsStringAsync(context.CancellationToken);
            var isJson = response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true;
            context.Set(StatusCode, (int)response.StatusCode);
            context.Set(ParsedContent, isJson && body.Length > 0 ? ValueConverter.ToPlain(JsonNode.Parse(body)) : body);
            context.Set(ResponseHeaders, response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase));
            return ((int)response.StatusCode, null);
        }
        catch (HttpRequestException e)
        {
            context.Log($"HTTP request failed: {e.Message}");
            return (null, FailedToConnectOutcome);
        }
        catch (TaskCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            context.Log("HTTP request timed out.");
            return (null, TimeoutOutcome);
        }
    }
}

/// <summary>
/// Elsa's flowchart variant: with expected status codes it leaves by the status code when it is one of them, else by
/// "Unmatched status code"; without any it leaves by Done. "Failed to connect" and "Timeout" when no response came.
/// </summary>
[Activity("Elsa", "HTTP", "Sends an HTTP request and continues by its status code.", DisplayName = "HTTP Request (flow)")]
[FlowNode("Done", UnmatchedStatusCodeOutcome, FailedToConnectOutcome, TimeoutOutcome)]
public sealed class FlowSendHttpRequest : HttpRequestActivity
{
    [Input(Description = "The status codes to branch on (each becomes an outcome).", UIHint = InputUIHints.MultiText)]
    public Input<List<int>>? ExpectedStatusCodes { get; set; }

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var (status, failure) = await SendAsync(context);
        if (failure != null) { await context.CompleteActivityAsync(failure); return; }
        var expected = context.Get(ExpectedStatusCodes) ?? [];
        var outcome = expected.Count == 0 ? "Done"
            : expected.Contains(status!.Value) ? status.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : UnmatchedStatusCodeOutcome;
        await context.CompleteActivityAsync(outcome);
    }
}

/// <summary>One case of <see cref="SendHttpRequest"/>: the activity to run when the response has this status code.</summary>
public sealed record HttpStatusCodeCase(int StatusCode, Activity? Activity);

/// <summary>
/// Elsa's composite variant: runs the activity of the case whose status code the response has, else UnmatchedStatusCode;
/// FailedToConnect or Timeout when no response came. Completes when that activity has completed.
/// </summary>
[Activity("Elsa", "HTTP", "Sends an HTTP request, then runs the activity set for the response's status code or the failure.", DisplayName = "HTTP Request")]
public sealed class SendHttpRequest : HttpRequestActivity, ICaseContainer
{
    [Input(Description = "The expected status codes, each with the activity to run when the response has it.", UIHint = "http-status-codes")]
    public List<HttpStatusCodeCase> ExpectedStatusCodes { get; set; } = [];

    public Activity? UnmatchedStatusCode { get; set; }
    public Activity? FailedToConnect { get; set; }
    public Activity? Timeout { get; set; }

    string ICaseContainer.CasesInput => nameof(ExpectedStatusCodes);

    IEnumerable<Activity> ICaseContainer.CaseActivities => ExpectedStatusCodes.Select(c => c.Activity).OfType<Activity>();

    void ICaseContainer.ReadCases(JsonArray cases, Func<JsonObject, Activity?> build, List<string> errors)
    {
        foreach (var item in cases.OfType<JsonObject>())
        {
            if (item["statusCode"] is not JsonValue code || !int.TryParse(code.ToString(), out var statusCode))
            {
                errors.Add($"Activity '{Id}' ({Type}): a case of ExpectedStatusCodes has no numeric statusCode.");
                continue;
            }
            ExpectedStatusCodes.Add(new HttpStatusCodeCase(statusCode, item["activity"] is JsonObject activity ? build(activity) : null));
        }
    }

    JsonArray ICaseContainer.WriteCases(Func<Activity, JsonNode?> write) =>
        new(ExpectedStatusCodes.Select(c => (JsonNode)new JsonObject { ["statusCode"] = c.StatusCode, ["activity"] = c.Activity is null ? null : write(c.Activity) }).ToArray());

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var (status, failure) = await SendAsync(context);
        var next = failure switch
        {
            FailedToConnectOutcome => FailedToConnect,
            TimeoutOutcome => Timeout,
            _ => ExpectedStatusCodes.FirstOrDefault(c => c.StatusCode == status) is { } match ? match.Activity : UnmatchedStatusCode,
        };
        if (next != null) context.ScheduleActivity(next);
    }
}
