using System.Collections.Concurrent;
using System.Diagnostics;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Keeps a push and the runs it causes in one trace although the dispatcher runs them later, on its own thread: the
/// trace context current when a delivery was accepted (the webhook's span) becomes the parent of the run that serves
/// it in this process. Held in memory only; a run after a restart or on another node starts a trace of its own.
/// </summary>
internal sealed class DeliveryTraces
{
    // A bound, so deliveries accepted here and run elsewhere (another node took them) cannot grow it without end.
    private const int MaxRemembered = 100_000;
    private readonly ConcurrentDictionary<string, ActivityContext> _parents = new(StringComparer.Ordinal);

    /// <param name="parent">The trace context current where the deliveries' stimuli came in; nothing is kept without one.</param>
    public void Remember(IEnumerable<string> deliveryIds, ActivityContext parent)
    {
        if (parent == default) return;
        if (_parents.Count > MaxRemembered) _parents.Clear();
        foreach (var id in deliveryIds) _parents[id] = parent;
    }

    /// <returns>The parent of the first delivery that has one (default when none), forgetting all of them.</returns>
    public ActivityContext Take(IEnumerable<string?> deliveryIds)
    {
        ActivityContext parent = default;
        foreach (var id in deliveryIds)
            if (id != null && _parents.TryRemove(id, out var context) && parent == default) parent = context;
        return parent;
    }
}
