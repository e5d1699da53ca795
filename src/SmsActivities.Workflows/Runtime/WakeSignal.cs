namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Wakes one background loop when there is new work for it, instead of leaving the work to its next poll. Wakes while
/// the loop is busy fold into one: the loop drains everything due when it runs.
/// </summary>
public class WakeSignal : IDisposable
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        try { _wake.Release(); }
        catch (SemaphoreFullException) { }
    }

    /// <returns>True when woken, false when <paramref name="timeout"/> passed.</returns>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _wake.WaitAsync(timeout, cancellationToken);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing) _wake.Dispose();
    }
}
