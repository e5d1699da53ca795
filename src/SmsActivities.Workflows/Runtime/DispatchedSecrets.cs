using System.Collections.Concurrent;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// The real input of dispatched children whose stored input was masked (it held a value the parent marked secret), kept
/// in memory from the parent's commit until the dispatcher starts the child in this process. A child started elsewhere
/// or after a restart gets the stored input, with the mask in place of the secret, as a run resumed after a crash does.
/// </summary>
internal sealed class DispatchedSecrets(TimeProvider time)
{
    // A child started by another node leaves its entry behind: entries are dropped after this long.
    private static readonly TimeSpan KeptFor = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<string, (ChildWorkflowRequest Request, DateTimeOffset KeptAt)> _byDelivery = new(StringComparer.Ordinal);

    public void Keep(string deliveryId, ChildWorkflowRequest request)
    {
        var now = time.GetUtcNow();
        foreach (var (id, kept) in _byDelivery)
            if (now - kept.KeptAt > KeptFor) _byDelivery.TryRemove(id, out _);
        _byDelivery[deliveryId] = (request, now);
    }

    public ChildWorkflowRequest? Take(string deliveryId) => _byDelivery.TryRemove(deliveryId, out var kept) ? kept.Request : null;
}
