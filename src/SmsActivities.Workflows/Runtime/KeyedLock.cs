namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// In-process serialization per instance id, in front of the database lease: a second stimulus for a
/// busy instance waits on a semaphore instead of polling the lease row. Entries are removed when
/// unused, so suspended instances cost nothing here.
/// </summary>
internal sealed class KeyedLock
{
    private readonly Dictionary<string, (SemaphoreSlim Gate, int Users)> _gates = new(StringComparer.Ordinal);

    public async Task<IDisposable?> TryAcquireAsync(string key, TimeSpan timeout, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate;
        lock (_gates)
        {
            var entry = _gates.GetValueOrDefault(key);
            gate = entry.Gate ?? new SemaphoreSlim(1, 1);
            _gates[key] = (gate, entry.Users + 1);
        }
        var acquired = false;
        try
        {
            acquired = await gate.WaitAsync(timeout, cancellationToken);
        }
        finally
        {
            if (!acquired) Leave(key);
        }
        return acquired ? new Releaser(this, key, gate) : null;
    }

    private void Leave(string key)
    {
        lock (_gates)
        {
            var entry = _gates[key];
            if (entry.Users == 1) _gates.Remove(key);
            else _gates[key] = (entry.Gate, entry.Users - 1);
        }
    }

    private sealed class Releaser(KeyedLock owner, string key, SemaphoreSlim gate) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
            gate.Release();
            owner.Leave(key);
        }
    }
}
