using System.Collections.Concurrent;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>A connection between two activities of a flowchart: when <see cref="Source"/> completes with <see cref="SourcePort"/>, <see cref="Target"/> may run.</summary>
public sealed record FlowConnection(Activity Source, Activity Target, string SourcePort = "Done", string TargetPort = "In");

/// <summary>How a flowchart decides when an activity with several inbound connections runs (Elsa's two models).</summary>
public enum FlowchartExecutionMode
{
    /// <summary>The instance's or flowchart's setting, else the runtime default (counter-based).</summary>
    Default,
    /// <summary>Tokens travel along connections; each activity's <c>customProperties.mergeMode</c> says how they merge.</summary>
    TokenBased,
    /// <summary>An activity waits until every forward inbound connection was either taken or ruled out, and runs once if any was taken.</summary>
    CounterBased,
}

/// <summary>
/// A graph of activities joined by outcome ports, run the way Elsa 3 runs flowcharts (see docs/flowchart-joins.md).
/// The mode comes from the instance property <c>Flowchart:ExecutionMode</c> (as Elsa's run options set it), else the
/// flowchart's <c>customProperties["Flowchart:ExecutionMode"]</c>, else counter-based, Elsa's default. Completes when
/// nothing inside runs or waits, or when an <see cref="End"/> completes.
/// </summary>
[Activity("Elsa", "Flow", "A flowchart of activities joined by outcome connections.", IsBrowsable = false)]
public sealed partial class Flowchart : Activity
{
    public const string ExecutionModeProperty = "Flowchart:ExecutionMode";

    /// <summary>Graphs by start activity id: derived from the definition only, so shared by all runs of this version.</summary>
    private readonly ConcurrentDictionary<string, FlowGraph> _graphs = new(StringComparer.Ordinal);

    public List<Activity> Activities { get; set; } = [];
    public List<FlowConnection> Connections { get; set; } = [];
    /// <summary>Id of the first activity (legacy JSON <c>start</c>); otherwise Elsa.Start, then a node without inbound connections.</summary>
    public string? StartActivityId { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var start = FindStart(context.WorkflowExecutionContext);
        if (start is null) return ValueTask.CompletedTask;
        context.SetProperty("start", start.Id);
        context.ScheduleActivity(start);
        return ValueTask.CompletedTask;
    }

    private Activity? FindStart(WorkflowExecutionContext workflow)
    {
        // A trigger that started the instance is where the run begins, wherever it sits in the graph.
        if (workflow.TriggerActivityId is { } triggerId && Activities.FirstOrDefault(a => a.Id == triggerId) is { } trigger) return trigger;
        if (StartActivityId != null && Activities.FirstOrDefault(a => a.Id == StartActivityId) is { } named) return named;
        return Activities.FirstOrDefault(a => a is Start)
               ?? Activities.FirstOrDefault(a => Connections.All(c => c.Target != a) && !(a is Trigger && a.CustomProperties["canStartWorkflow"]?.GetValue<bool>() == true))
               ?? Activities.FirstOrDefault();
    }

    protected override ValueTask OnChildCompletedAsync(ActivityExecutionContext context, ActivityExecutionContext child)
    {
        if (child.Activity is End)
        {
            context.CancelChildren();
            return context.CompleteActivityAsync();
        }
        var graph = GraphOf(context);
        if (ModeOf(context) == FlowchartExecutionMode.TokenBased) OnChildCompletedTokenBased(context, graph, child);
        else OnChildCompletedCounterBased(context, graph, child);
        return ValueTask.CompletedTask;
    }

    private FlowGraph GraphOf(ActivityExecutionContext context)
    {
        var startId = context.GetProperty<string>("start") ?? "";
        return _graphs.GetOrAdd(startId, id => new FlowGraph(Connections, Activities.FirstOrDefault(a => a.Id == id)));
    }

    private FlowchartExecutionMode ModeOf(ActivityExecutionContext context)
    {
        var setting = context.WorkflowExecutionContext.State.Properties[ExecutionModeProperty] ?? CustomProperties[ExecutionModeProperty];
        return setting?.ToString() is { } text && Enum.TryParse<FlowchartExecutionMode>(text, ignoreCase: true, out var mode) && mode != FlowchartExecutionMode.Default
            ? mode
            : FlowchartExecutionMode.CounterBased;
    }

    private static string Key(FlowConnection connection) => $"{connection.Source.Id}:{connection.SourcePort}>{connection.Target.Id}";

    private static bool Took(ActivityExecutionContext child, FlowConnection connection) =>
        child.CompletedOutcomes.Contains(connection.SourcePort, StringComparer.OrdinalIgnoreCase);

    private static FlowJoinMode JoinModeOf(ActivityExecutionContext context, FlowJoin join) =>
        context.WorkflowExecutionContext.Evaluator.Evaluate(join.Mode, context.WorkflowExecutionContext) as FlowJoinMode? ?? FlowJoinMode.WaitAny;
}
