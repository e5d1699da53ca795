using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>
/// Counter-based execution (Elsa's default): the flowchart counts, per activity, how often it was visited and, per
/// connection, how often it was visited and how often it was taken. An activity runs when every forward inbound
/// connection has been visited since its last visit and the latest visit took at least one of them; when all were visited and
/// none taken, it is skipped and its outbound connections count as visited-not-taken, so joins further down do not
/// wait for a branch a decision ruled out. Backward connections (loops) run their target each time they are taken.
/// </summary>
public sealed partial class Flowchart
{
    private void OnChildCompletedCounterBased(ActivityExecutionContext context, FlowGraph graph, ActivityExecutionContext child)
    {
        var counters = new Counters(context.Properties);
        var viaBackward = counters.TakeBackward(child.Activity);
        if (child.Activity is FlowJoin) counters.JoinCompleted(child.Activity);
        Visit(context, graph, counters, child.Activity, connection => Took(child, connection), viaBackward);
    }

    private void Visit(ActivityExecutionContext context, FlowGraph graph, Counters counters, Activity activity, Func<FlowConnection, bool> took, bool viaBackward)
    {
        if (!viaBackward) counters.Add("visits", activity.Id);
        foreach (var connection in graph.Outbound(activity).ToList())
        {
            var followed = took(connection);
            counters.Add("connectionVisits", Key(connection));
            counters.SetLastTaken(Key(connection), followed);
            var target = connection.Target;
            if (graph.IsBackward(connection))
            {
                if (!followed) continue;
                counters.Add("backward", target.Id);
                context.ScheduleActivity(target);
            }
            else if (target is FlowJoin join) ArriveAtJoin(context, graph, counters, join);
            else if (AllInboundVisited(graph, counters, target))
            {
                if (AnyInboundTaken(graph, counters, target)) context.ScheduleActivity(target);
                else Visit(context, graph, counters, target, _ => false, false);
            }
        }
    }

    private void ArriveAtJoin(ActivityExecutionContext context, FlowGraph graph, Counters counters, FlowJoin join)
    {
        if (!AnyInboundTaken(graph, counters, join))
        {
            if (AllInboundVisited(graph, counters, join)) Visit(context, graph, counters, join, _ => false, false);
            return;
        }
        if (counters.IsJoinScheduled(join)) return;
        if (JoinModeOf(context, join) == FlowJoinMode.WaitAll && !AllInboundVisited(graph, counters, join)) return;
        counters.JoinScheduled(join);
        if (JoinModeOf(context, join) == FlowJoinMode.WaitAny) context.CancelChildren(graph.Ancestors(join));
        context.ScheduleActivity(join);
    }

    private static bool AllInboundVisited(FlowGraph graph, Counters counters, Activity activity)
    {
        var visits = counters.Get("visits", activity.Id);
        return graph.ForwardInbound(activity).All(c => counters.Get("connectionVisits", Key(c)) > visits);
    }

    /// <summary>Whether the latest round of visits to the forward inbound connections took at least one of them.</summary>
    private static bool AnyInboundTaken(FlowGraph graph, Counters counters, Activity activity)
    {
        var inbound = graph.ForwardInbound(activity).ToList();
        if (inbound.Count == 0) return false;
        var latest = inbound.Max(c => counters.Get("connectionVisits", Key(c)));
        return latest > counters.Get("visits", activity.Id) &&
               inbound.Any(c => counters.Get("connectionVisits", Key(c)) == latest && counters.LastTaken(Key(c)));
    }

    /// <summary>The counters, kept in the flowchart's persisted execution properties.</summary>
    private readonly struct Counters(JsonObject properties)
    {
        private JsonObject Table(string name) =>
            properties[name] as JsonObject ?? (JsonObject)(properties[name] = new JsonObject());

        public long Get(string table, string key) => Table(table)[key]?.GetValue<long>() ?? 0;

        public void Add(string table, string key, long by = 1) => Table(table)[key] = Get(table, key) + by;

        /// <summary>True (and consumed) when this execution was scheduled by a backward connection.</summary>
        public bool TakeBackward(Activity activity)
        {
            if (Get("backward", activity.Id) <= 0) return false;
            Add("backward", activity.Id, -1);
            return true;
        }

        public bool LastTaken(string connection) => Table("lastTaken")[connection]?.GetValue<bool>() == true;
        public void SetLastTaken(string connection, bool taken) => Table("lastTaken")[connection] = taken;

        public bool IsJoinScheduled(Activity join) => Get("joinsScheduled", join.Id) > 0;
        public void JoinScheduled(Activity join) => Table("joinsScheduled")[join.Id] = 1;
        public void JoinCompleted(Activity join) => Table("joinsScheduled").Remove(join.Id);
    }
}
