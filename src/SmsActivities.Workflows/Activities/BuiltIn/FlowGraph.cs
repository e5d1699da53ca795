namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>
/// A flowchart's connections seen from the activity a run starts at: the forward connections (an acyclic cover,
/// found breadth-first from the start, leaving out any edge that would close a cycle) and the backward ones (loops).
/// Built once per flowchart and start activity and shared by every run.
/// </summary>
internal sealed class FlowGraph
{
    private readonly HashSet<FlowConnection> _forward = new(ReferenceEqualityComparer.Instance);
    private readonly IReadOnlyList<FlowConnection> _connections;

    public FlowGraph(IReadOnlyList<FlowConnection> connections, Activity? start)
    {
        _connections = connections;
        if (start is null) return;
        var accepted = new List<FlowConnection>();
        var visited = new HashSet<Activity>(ReferenceEqualityComparer.Instance);
        var queue = new Queue<Activity>([start]);
        while (queue.TryDequeue(out var source))
        {
            if (!visited.Add(source)) continue;
            foreach (var connection in connections.Where(c => c.Source == source))
            {
                if (connection.Target == source || Reaches(accepted, connection.Target, source)) continue;
                accepted.Add(connection);
                _forward.Add(connection);
                if (!visited.Contains(connection.Target)) queue.Enqueue(connection.Target);
            }
        }
    }

    public IEnumerable<FlowConnection> Outbound(Activity activity) => _connections.Where(c => c.Source == activity);
    public IEnumerable<FlowConnection> Inbound(Activity activity) => _connections.Where(c => c.Target == activity);
    public IEnumerable<FlowConnection> ForwardInbound(Activity activity) => Inbound(activity).Where(_forward.Contains);
    public bool IsBackward(FlowConnection connection) => !_forward.Contains(connection);

    /// <summary>Everything upstream of <paramref name="activity"/> along forward connections: the branches a race abandons.</summary>
    public HashSet<Activity> Ancestors(Activity activity)
    {
        var result = new HashSet<Activity>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<Activity>([activity]);
        while (pending.TryPop(out var current))
            foreach (var connection in ForwardInbound(current))
                if (connection.Source != activity && result.Add(connection.Source)) pending.Push(connection.Source);
        return result;
    }

    private static bool Reaches(List<FlowConnection> edges, Activity from, Activity to)
    {
        var seen = new HashSet<Activity>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<Activity>([from]);
        while (stack.TryPop(out var current))
        {
            if (current == to) return true;
            if (!seen.Add(current)) continue;
            foreach (var edge in edges.Where(e => e.Source == current)) stack.Push(edge.Target);
        }
        return false;
    }
}
