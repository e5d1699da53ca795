using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>A connection between two activities of a flowchart: when <see cref="Source"/> completes with <see cref="SourcePort"/>, <see cref="Target"/> runs.</summary>
public sealed record FlowConnection(Activity Source, Activity Target, string SourcePort = "Done", string TargetPort = "In");

/// <summary>
/// A graph of activities joined by outcome ports. Streams by default: each firing connection runs its
/// target again (which gives loops); <see cref="FlowJoin"/> targets wait for all or any of their
/// inbound connections (a wait-all join also proceeds once nothing else inside can still reach it).
/// Completes when nothing inside is running, or when an <see cref="End"/> completes.
/// </summary>
[Activity("Elsa", "Flow", "A flowchart of activities joined by outcome connections.", IsBrowsable = false)]
public sealed class Flowchart : Activity
{
    public List<Activity> Activities { get; set; } = [];
    public List<FlowConnection> Connections { get; set; } = [];
    /// <summary>Id of the first activity (legacy JSON <c>start</c>); otherwise Elsa.Start, then a node without inbound connections.</summary>
    public string? StartActivityId { get; set; }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var start = FindStart(context.WorkflowExecutionContext);
        if (start != null) context.ScheduleActivity(start);
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
        foreach (var connection in Connections)
        {
            if (connection.Source != child.Activity || !child.CompletedOutcomes.Contains(connection.SourcePort, StringComparer.OrdinalIgnoreCase)) continue;
            if (connection.Target is FlowJoin join) Arrive(context, join, connection);
            else context.ScheduleActivity(connection.Target);
        }
        ReleaseStarvedJoins(context);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A wait-all join whose other branches were never taken (e.g. behind a decision) would wait forever:
    /// once nothing else in the flowchart runs or waits, no further branch can arrive, so it proceeds.
    /// </summary>
    private void ReleaseStarvedJoins(ActivityExecutionContext context)
    {
        if (context.PendingChildren > 0 || context.Properties["joins"] is not JsonObject { Count: > 0 } joins) return;
        foreach (var joinId in joins.Select(j => j.Key).ToList())
        {
            joins.Remove(joinId);
            if (Activities.FirstOrDefault(a => a.Id == joinId) is { } join) context.ScheduleActivity(join);
        }
    }

    /// <summary>Join bookkeeping lives in the flowchart's context: the set of inbound connections that have fired.</summary>
    private void Arrive(ActivityExecutionContext context, FlowJoin join, FlowConnection connection)
    {
        var inbound = Connections.Where(c => c.Target == join).ToList();
        var joins = context.Properties["joins"] as JsonObject ?? (JsonObject)(context.Properties["joins"] = new JsonObject());
        var arrived = joins[join.Id] as JsonArray ?? (JsonArray)(joins[join.Id] = new JsonArray());
        var key = $"{connection.Source.Id}:{connection.SourcePort}";
        if (!arrived.Any(n => n?.GetValue<string>() == key)) arrived.Add(key);
        var mode = context.WorkflowExecutionContext.Evaluator.Evaluate(join.Mode, context.WorkflowExecutionContext) as FlowJoinMode? ?? FlowJoinMode.WaitAny;
        if (mode == FlowJoinMode.WaitAll && arrived.Count < inbound.Count) return;
        joins.Remove(join.Id);
        if (mode == FlowJoinMode.WaitAny) context.CancelChildren(Ancestors(join));
        context.ScheduleActivity(join);
    }

    /// <summary>Everything from which <paramref name="node"/> can be reached: the branches a wait-any join abandons.</summary>
    private HashSet<Activity> Ancestors(Activity node)
    {
        var result = new HashSet<Activity>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<Activity>([node]);
        while (pending.TryPop(out var current))
            foreach (var c in Connections.Where(c => c.Target == current))
                if (c.Source != node && result.Add(c.Source)) pending.Push(c.Source);
        return result;
    }
}
