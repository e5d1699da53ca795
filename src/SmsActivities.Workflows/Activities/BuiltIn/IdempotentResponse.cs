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
/// The first answer of an instance started by an idempotent request (<see cref="HttpEndpoint.IdempotencyHeader"/>),
/// kept in the instance's properties: the server answers a repeat of that request with it instead of starting again.
/// </summary>
public static class IdempotentResponse
{
    private const string ExpectedKey = "http:idempotentStart";
    private const string ResponseKey = "http:firstResponse";

    /// <summary>The instance was started by a request that named its start: its first answer is to be kept.</summary>
    internal static void Expect(ActivityExecutionContext context, string key)
    {
        if (key.Length > 0) context.WorkflowExecutionContext.State.Properties[ExpectedKey] = true;
    }

    /// <summary>Keeps <paramref name="answer"/> if it is the first answer of an idempotently started instance (credentials-bearing headers left out).</summary>
    internal static void Record(ActivityExecutionContext context, RecordedHttpResponse answer)
    {
        var properties = context.WorkflowExecutionContext.State.Properties;
        if (properties[ExpectedKey] is null || properties.ContainsKey(ResponseKey)) return;
        var kept = answer with { Headers = answer.Headers.Where(h => !HttpEndpointOptions.NeverKept.Contains(h.Key)).ToDictionary(h => h.Key, h => h.Value) };
        properties[ResponseKey] = JsonSerializer.SerializeToNode(kept, WorkflowJson.Options);
    }

    /// <summary>The kept first answer in an instance's state, if it has one yet.</summary>
    public static RecordedHttpResponse? Of(WorkflowState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.Properties[ResponseKey] is JsonObject kept ? kept.Deserialize<RecordedHttpResponse>(WorkflowJson.Options) : null;
    }
}
