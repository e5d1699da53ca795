using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>How an activity with several inbound connections merges them in token-based mode (<c>customProperties.mergeMode</c>).</summary>
public enum MergeMode
{
    /// <summary>Not set: behaves as <see cref="Stream"/>.</summary>
    None,
    /// <summary>Runs once nothing upstream is still pending; branches not taken do not block.</summary>
    Stream,
    /// <summary>Waits for a token on every forward inbound connection (loops ignored); an untaken branch blocks.</summary>
    Merge,
    /// <summary>Waits for a token on every inbound connection, loops included; the strictest.</summary>
    Converge,
    /// <summary>Runs once per arriving token.</summary>
    Cascade,
    /// <summary>Runs on the first arriving token, cancels the other inbound branches and ignores their tokens.</summary>
    Race,
}

/// <summary>
/// Token-based execution: a completed activity puts a token on each connection it takes and consumes the tokens that
/// brought it; each target then runs according to its merge mode. A FlowJoin's mode maps to WaitAll = Merge, WaitAny = Race.
/// </summary>
public sealed partial class Flowchart
{
    private const string TokensProperty = "tokens";

    private void OnChildCompletedTokenBased(ActivityExecutionContext context, FlowGraph graph, ActivityExecutionContext child)
    {
        var tokens = context.Properties[TokensProperty] as JsonArray ?? (JsonArray)(context.Properties[TokensProperty] = new JsonArray());
        var completed = child.Activity;
        var taken = graph.Outbound(completed).Where(c => Took(child, c)).ToList();
        foreach (var connection in taken) tokens.Add(Token(connection, blocked: false));
        foreach (var token in tokens.OfType<JsonObject>().Where(t => (string?)t["to"] == completed.Id && IsLive(t))) token["consumed"] = true;

        foreach (var connection in taken)
        {
            var target = connection.Target;
            switch (MergeModeOf(context, target))
            {
                case MergeMode.Cascade or MergeMode.Race:
                    var race = MergeModeOf(context, target) == MergeMode.Race;
                    var block = tokens.OfType<JsonObject>().FirstOrDefault(t => Matches(t, connection) && (bool?)t["blocked"] == true && (bool?)t["consumed"] != true);
                    if (block != null) { block["consumed"] = true; break; }
                    if (race) context.CancelChildren(graph.Ancestors(target));
                    context.ScheduleActivity(target);
                    if (race)
                        foreach (var other in graph.ForwardInbound(target).Where(c => c.Source != completed))
                            tokens.Add(Token(other, blocked: true));
                    break;
                case MergeMode.Merge:
                    ScheduleWhenAllArrived(context, tokens, target, graph.ForwardInbound(target).ToList());
                    break;
                case MergeMode.Converge:
                    ScheduleWhenAllArrived(context, tokens, target, graph.Inbound(target).ToList());
                    break;
                default:
                    var upstreamPending = graph.ForwardInbound(target).Any(inbound =>
                        tokens.OfType<JsonObject>().Any(t => IsLive(t) && (string?)t["to"] == inbound.Source.Id));
                    if (!upstreamPending) context.ScheduleActivity(target);
                    break;
            }
        }

        for (var i = tokens.Count - 1; i >= 0; i--)
            if (tokens[i] is JsonObject t && (string?)t["to"] == completed.Id && (bool?)t["consumed"] == true) tokens.RemoveAt(i);
    }

    private static void ScheduleWhenAllArrived(ActivityExecutionContext context, JsonArray tokens, Activity target, List<FlowConnection> inbound)
    {
        if (inbound.Count <= 1 || inbound.All(c => tokens.OfType<JsonObject>().Any(t => IsLive(t) && Matches(t, c))))
            context.ScheduleActivity(target);
    }

    private MergeMode MergeModeOf(ActivityExecutionContext context, Activity activity)
    {
        if (activity is FlowJoin join) return JoinModeOf(context, join) == FlowJoinMode.WaitAll ? MergeMode.Merge : MergeMode.Race;
        return activity.CustomProperties["mergeMode"]?.ToString() is { } text && Enum.TryParse<MergeMode>(text, ignoreCase: true, out var mode) ? mode : MergeMode.None;
    }

    private static JsonObject Token(FlowConnection connection, bool blocked) => new()
    {
        ["from"] = connection.Source.Id, ["port"] = connection.SourcePort, ["to"] = connection.Target.Id, ["consumed"] = false, ["blocked"] = blocked,
    };

    private static bool IsLive(JsonObject token) => (bool?)token["consumed"] != true && (bool?)token["blocked"] != true;

    private static bool Matches(JsonObject token, FlowConnection connection) =>
        (string?)token["from"] == connection.Source.Id && (string?)token["to"] == connection.Target.Id &&
        string.Equals((string?)token["port"], connection.SourcePort, StringComparison.OrdinalIgnoreCase);
}
