namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Wakes one background loop when there is new work for it, instead of leaving the work to its next poll. Wakes while
/// the loop is busy fold into one: the loop drains everything due when it runs.
/// </summary>
public class WakeSignal : IDisposable
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    // 1 from a wake until the loop wakes: further wakes meanwhile fold into it without touching the semaphore. (Releasing
    // a full one throws; at 20,000 reports that was some 200 exceptions a second, each costing a stack trace.)
    private int _pending;

    public void Wake()
    {
        if (Interlocked.Exchange(ref _pending, 1) == 0) _wake.Release();
    }

    /// <returns>True when woken, false when <paramref name="timeout"/> passed.</returns>
    /// <remarks>
    /// Cleared before the loop drains its work, so a wake that comes while it drains wakes it again; one that came
    /// between the wake-up and the clear is covered by the drain that follows (its work was stored before it woke).
    /// </remarks>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var woken = await _wake.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        if (woken) Volatile.Write(ref _pending, 0);
        return woken;
    }

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
