using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Keeps this process's leases alive while it runs them, so leases can be short: a process that dies stops renewing
/// and its instances are recovered a lease later (seconds), while a long run that is alive keeps its instance.
/// The same goes for deliveries that are starting a new instance (which has no row to lease yet): their next attempt
/// is pushed ahead while the start runs here, and falls due a lease after a crash. Due timers this process claimed
/// are kept a (shorter) claim ahead while it works through them, and fall due a claim after a crash.
/// </summary>
internal sealed class LeaseRenewer(IDbContextFactory<WorkflowDbContext> db, string owner, TimeProvider time, TimeSpan leaseDuration, TimeSpan claimDuration)
{
    private readonly ConcurrentDictionary<string, byte> _timers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _starts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);

    public bool Holds(string instanceId) => _instances.ContainsKey(instanceId);

    public void TrackInstance(string instanceId) => _instances.AddOrUpdate(instanceId, 1, (_, n) => n + 1);

    public void ReleaseInstance(string instanceId) => Release(_instances, instanceId);

    /// <summary>Keeps the delivery from falling due while this process works on it (counted: a claim and its run may both hold it).</summary>
    public void TrackStart(string deliveryId) => _starts.AddOrUpdate(deliveryId, 1, (_, n) => n + 1);

    public void ReleaseStart(string deliveryId) => Release(_starts, deliveryId);

    /// <summary>Keeps claimed timer bookmarks from the other nodes until this process has resumed them.</summary>
    public void TrackTimers(IEnumerable<string> bookmarkIds)
    {
        foreach (var id in bookmarkIds) _timers.TryAdd(id, 0);
    }

    public void ReleaseTimer(string bookmarkId) => _timers.TryRemove(bookmarkId, out _);

    /// <summary>How often <see cref="RenewAsync"/> must run: three times per lease or claim, whichever is shorter.</summary>
    public TimeSpan RenewalInterval => (leaseDuration < claimDuration ? leaseDuration : claimDuration) / 3;

    /// <summary>False when this process is already running that start (the retry loop found its delivery due meanwhile).</summary>
    public bool TryBeginStart(string deliveryId) => _running.TryAdd(deliveryId, 0);

    public void EndStart(string deliveryId) => _running.TryRemove(deliveryId, out _);

    private static void Release(ConcurrentDictionary<string, int> held, string key)
    {
        while (held.TryGetValue(key, out var n))
        {
            if (n <= 1 ? held.TryRemove(new KeyValuePair<string, int>(key, n)) : held.TryUpdate(key, n - 1, n)) return;
        }
    }

    /// <summary>Extends every lease this process holds by a full lease from now. Returns how many rows were extended.</summary>
    public async Task<int> RenewAsync(CancellationToken cancellationToken)
    {
        var instances = _instances.Keys.ToList();
        var starts = _starts.Keys.ToList();
        var timers = _timers.Keys.ToList();
        if (instances.Count == 0 && starts.Count == 0 && timers.Count == 0) return 0;
        var now = time.GetUtcNow();
        var until = DbTime.ToDb(now + leaseDuration);
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var renewed = 0;
        if (instances.Count > 0)
            renewed += await context.Instances.Where(i => instances.Contains(i.Id) && i.LeaseOwner == owner)
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.LeaseExpiresAt, until), cancellationToken);
        if (starts.Count > 0)
            renewed += await context.Deliveries.Where(d => starts.Contains(d.Id) && d.NextAttemptAt < until)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, until), cancellationToken);
        if (timers.Count > 0)
        {
            // Only a claim still held (due in the future): a due timer on SQLite, which is never claimed, is left as it is.
            var nowMs = DbTime.ToDb(now);
            var claimedUntil = DbTime.ToDb(now + claimDuration);
            renewed += await context.Bookmarks.Where(b => timers.Contains(b.Id) && b.DueAt != null && b.DueAt > nowMs && b.DueAt < claimedUntil)
                .ExecuteUpdateAsync(s => s.SetProperty(b => b.DueAt, claimedUntil), cancellationToken);
        }
        return renewed;
    }
}
