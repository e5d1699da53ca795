using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>An HTTP answer as a workflow wrote it, kept so a repeated idempotent request can be given the same one.</summary>
public sealed record RecordedHttpResponse(int StatusCode, string ContentType, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public async Task WriteAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = StatusCode;
        foreach (var (name, value) in Headers) response.Headers[name] = value;
        response.ContentType = ContentType;
        await response.WriteAsync(Body, cancellationToken);
    }
}

/// <summary>
/// The answers an instance gave to idempotent requests (<see cref="HttpEndpoint.IdempotencyHeader"/>), the first per
/// idempotency key, kept in the instance's properties: the server answers a repeat of such a request, one that started
/// the instance or one that resumed it on the way, with the answer kept under its key instead of running again.
/// </summary>
public static class IdempotentResponse
{
    /// <summary>The key of the request the instance is serving now, set by each request its <see cref="HttpEndpoint"/> receives.</summary>
    private const string CurrentKey = "http:idempotencyKey";
    private const string AnswersKey = "http:answers";
    /// <summary>
    /// How an instance stored before answers were kept per key marks an idempotent start, and where it keeps the answer
    /// to it: one still waiting to answer when the server is upgraded keeps its answer there.
    /// </summary>
    private const string LegacyStartKey = "http:idempotentStart", FirstResponseKey = "http:firstResponse";

    /// <summary>
    /// The most recent answers kept: enough for a client's retries, which come within minutes of the first request, while
    /// an instance that serves requests in a loop for months does not grow its state by one answer each.
    /// </summary>
    internal const int MaxKept = 20;

    /// <summary>The request received now is <paramref name="key"/> (empty: a request without one, whose answer is not kept).</summary>
    internal static void Expect(ActivityExecutionContext context, string key)
    {
        var properties = context.WorkflowExecutionContext.State.Properties;
        if (key.Length > 0) properties[CurrentKey] = key;
        else properties.Remove(CurrentKey);
    }

    /// <summary>Keeps <paramref name="answer"/> if it is the first answer to the idempotent request being served (credentials-bearing headers left out).</summary>
    internal static void Record(ActivityExecutionContext context, RecordedHttpResponse answer)
    {
        var properties = context.WorkflowExecutionContext.State.Properties;
        if (properties[CurrentKey] is not JsonValue current || current.ToString() is not { Length: > 0 } key)
        {
            if (properties[LegacyStartKey] is not null && !properties.ContainsKey(FirstResponseKey)) properties[FirstResponseKey] = Kept(answer);
            return;
        }
        if (properties[AnswersKey] is not JsonObject answers) properties[AnswersKey] = answers = [];
        if (answers.ContainsKey(key)) return;
        answers[key] = Kept(answer);
        while (answers.Count > MaxKept) answers.RemoveAt(0);
    }

    /// <summary>An answer as kept: without the headers that may carry credentials.</summary>
    private static JsonNode? Kept(RecordedHttpResponse answer) => JsonSerializer.SerializeToNode(
        answer with { Headers = answer.Headers.Where(h => !HttpEndpointOptions.NeverKept.Contains(h.Key)).ToDictionary(h => h.Key, h => h.Value) }, WorkflowJson.Options);

    /// <summary>The answer an instance's state keeps for the request with idempotency key <paramref name="key"/>, if it has one yet.</summary>
    public static RecordedHttpResponse? Of(WorkflowState state, string key)
    {
        ArgumentNullException.ThrowIfNull(state);
        var kept = state.Properties[AnswersKey] is JsonObject answers ? answers[key] : state.Properties[FirstResponseKey];
        return kept is JsonObject answer ? answer.Deserialize<RecordedHttpResponse>(WorkflowJson.Options) : null;
    }
}
