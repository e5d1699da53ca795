using System.Net;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Samples;

/// <summary>
/// The code-first twins of <c>workflows/*.json</c>. Each has the JSON one's definition id with <c>-code</c> appended
/// and answers HTTP under <c>/workflows/code/…</c>, so both can be published side by side.
/// </summary>
public static class SampleWorkflows
{
    public const string Suffix = "-code";

    /// <summary>One instance of every sample.</summary>
    public static IReadOnlyList<IWorkflow> Create() =>
        [new OtpSmsWorkflow(), new OtpSmsThenVoiceWorkflow(), new CampaignWorkflow(), new ReplyRouterWorkflow(), new SendAndWaitForReplyWorkflow()];

    /// <summary>A request body field of the activity <paramref name="httpActivityId"/> (an <c>HttpEndpoint</c>).</summary>
    internal static JsonNode? Body(ExpressionContext context, string field, string httpActivityId = "Http1") =>
        context.GetOutput(httpActivityId, nameof(HttpEndpoint.ParsedContent))?[field];

    internal static string? BodyText(ExpressionContext context, string field, string httpActivityId = "Http1") =>
        Body(context, field, httpActivityId) is JsonValue value ? value.ToString() : null;

    internal static string[] Strings(JsonNode? node) =>
        node is JsonArray array ? array.Select(n => n?.ToString()).OfType<string>().ToArray() : [];

    internal static HttpEndpoint Endpoint(string id, string path, string method, bool start = false) =>
        new() { Id = id, Path = new(path), SupportedMethods = new([method]), CanStartWorkflow = start };

    internal static HttpEndpoint Endpoint(string id, Func<ExpressionContext, string> path, string method) =>
        new() { Id = id, Path = new(path), SupportedMethods = new([method]) };

    internal static WriteHttpResponse Answer(string id, HttpStatusCode status, Func<ExpressionContext, object?> content) =>
        new() { Id = id, StatusCode = new(status), Content = new(content) };

    internal static string Self(ExpressionContext context) => context.WorkflowInstanceId;
}
