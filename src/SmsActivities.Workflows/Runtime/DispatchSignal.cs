namespace SmsActivities.Workflows.Runtime;

/// <summary>Wakes the delivery dispatcher when stimuli were accepted, instead of leaving them to its next poll.</summary>
internal sealed class DispatchSignal : IDisposable
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        // One pending wake is enough: the dispatcher drains everything due when it runs.
        try { _wake.Release(); }
        catch (SemaphoreFullException) { }
    }

    /// <returns>True when woken, false when <paramref name="timeout"/> passed.</returns>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _wake.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _wake.Dispose();
}
