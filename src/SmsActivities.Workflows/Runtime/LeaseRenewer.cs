using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Keeps this process's leases alive while it runs them, so leases can be short: a process that dies stops renewing
/// and its instances are recovered a lease later (seconds), while a long run that is alive keeps its instance.
/// The same goes for deliveries that are starting a new instance (which has no row to lease yet): their next attempt
/// is pushed ahead while the start runs here, and falls due a lease after a crash.
/// </summary>
internal sealed class LeaseRenewer(IDbContextFactory<WorkflowDbContext> db, string owner, TimeProvider time, TimeSpan leaseDuration)
{
    private readonly ConcurrentDictionary<string, int> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _starts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);

    public bool Holds(string instanceId) => _instances.ContainsKey(instanceId);

    public void TrackInstance(string instanceId) => _instances.AddOrUpdate(instanceId, 1, (_, n) => n + 1);

    public void ReleaseInstance(string instanceId) => Release(_instances, instanceId);

    /// <summary>Keeps the delivery from falling due while this process works on it (counted: a claim and its run may both hold it).</summary>
    public void TrackStart(string deliveryId) => _starts.AddOrUpdate(deliveryId, 1, (_, n) => n + 1);

    public void ReleaseStart(string deliveryId) => Release(_starts, deliveryId);

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
        if (instances.Count == 0 && starts.Count == 0) return 0;
        var until = DbTime.ToDb(time.GetUtcNow() + leaseDuration);
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var renewed = 0;
        if (instances.Count > 0)
            renewed += await context.Instances.Where(i => instances.Contains(i.Id) && i.LeaseOwner == owner)
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.LeaseExpiresAt, until), cancellationToken);
        if (starts.Count > 0)
            renewed += await context.Deliveries.Where(d => starts.Contains(d.Id) && d.NextAttemptAt < until)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, until), cancellationToken);
        return renewed;
    }
}
