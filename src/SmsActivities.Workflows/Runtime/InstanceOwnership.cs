using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Who may run an instance: an in-process gate per instance (a second stimulus waits on it instead of polling the
/// database) in front of a lease row (one conditional UPDATE), which a process that dies loses when it expires.
/// A commit releases the lease in its own transaction; <see cref="ReleaseAsync"/> is for runs that end without one.
/// </summary>
internal sealed class InstanceOwnership
{
    private readonly KeyedLock _gates = new();
    private readonly IDbContextFactory<WorkflowDbContext> db;
    private readonly TimeProvider time;
    private readonly WorkflowRuntimeOptions _options;
    private readonly ILogger<InstanceOwnership> logger;
    private readonly SqliteWriteGate _writes;

    public InstanceOwnership(IDbContextFactory<WorkflowDbContext> db, TimeProvider time, IOptions<WorkflowRuntimeOptions> options, ILogger<InstanceOwnership> logger, SqliteWriteGate writes)
    {
        _writes = writes;
        this.db = db;
        this.time = time;
        _options = options.Value;
        this.logger = logger;
        Leases = new LeaseRenewer(db, Owner, time, _options.LeaseDuration, _options.ClaimDuration);
    }

    /// <summary>This process's name on the leases it holds.</summary>
    public string Owner { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>The leases this process holds while it runs instances, renewed by the lease renewal service.</summary>
    public LeaseRenewer Leases { get; }

    /// <summary>The in-process gate of the instance; null when another run in this process kept it past the wait timeout.</summary>
    public Task<IDisposable?> EnterAsync(string instanceId, CancellationToken cancellationToken) =>
        _gates.TryAcquireAsync(instanceId, _options.LeaseWaitTimeout, cancellationToken);

    /// <summary>The in-process gate of the instance if it is free right now (a batch does not wait for a busy instance).</summary>
    public Task<IDisposable?> TryEnterNowAsync(string instanceId, CancellationToken cancellationToken) =>
        _gates.TryAcquireAsync(instanceId, TimeSpan.Zero, cancellationToken);

    /// <summary>Tries for the lease until the wait timeout, backing off from 5 to 200 ms.</summary>
    public async Task<bool> WaitForLeaseAsync(WorkflowDbContext context, string instanceId, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + _options.LeaseWaitTimeout;
        var delay = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            if (await TryLeaseAsync(context, instanceId, cancellationToken)) return true;
            if (time.GetUtcNow() >= deadline) return false;
            await Task.Delay(delay, cancellationToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 200));
        }
    }

    /// <summary>One conditional UPDATE: succeeds only when nobody holds an unexpired lease on a running instance.</summary>
    public async Task<bool> TryLeaseAsync(WorkflowDbContext context, string instanceId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var nowMs = DbTime.ToDb(now);
        var expires = DbTime.ToDb(now + _options.LeaseDuration);
        var running = nameof(WorkflowStatus.Running);
        var owner = Owner;
        using var turn = await _writes.EnterAsync(context, urgent: false, cancellationToken);
        var updated = await context.Instances
            .Where(i => i.Id == instanceId && i.Status == running && (i.LeaseExpiresAt == null || i.LeaseExpiresAt < nowMs))
            .ExecuteUpdateAsync(s => s.SetProperty(i => i.LeaseOwner, owner).SetProperty(i => i.LeaseExpiresAt, expires)
                .SetProperty(i => i.SubStatus, nameof(WorkflowSubStatus.Executing)), cancellationToken);
        if (updated == 1) Leases.TrackInstance(instanceId);
        return updated == 1;
    }

    /// <summary>
    /// The leases of many instances with one conditional UPDATE, inside the caller's transaction and write turn (the
    /// dispatcher's claim, so a batch pays no transaction of its own for its leases); returns the ids of those now held.
    /// Tracked for renewal from here on: the caller releases those it does not commit. Their rows are read with
    /// <see cref="ReadLeasedAsync"/>, after the write turn.
    /// </summary>
    public async Task<IReadOnlyList<string>> LeaseInTransactionAsync(WorkflowDbContext context, IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var nowMs = DbTime.ToDb(now);
        var expires = DbTime.ToDb(now + _options.LeaseDuration);
        var running = nameof(WorkflowStatus.Running);
        var owner = Owner;
        foreach (var id in instanceIds) Leases.TrackInstance(id);
        try
        {
            await context.Instances
                .Where(i => instanceIds.Contains(i.Id) && i.Status == running && (i.LeaseExpiresAt == null || i.LeaseExpiresAt < nowMs))
                .ExecuteUpdateAsync(s => s.SetProperty(i => i.LeaseOwner, owner).SetProperty(i => i.LeaseExpiresAt, expires)
                    .SetProperty(i => i.SubStatus, nameof(WorkflowSubStatus.Executing)), cancellationToken);
            var held = await context.Instances.AsNoTracking().Where(i => instanceIds.Contains(i.Id) && i.LeaseOwner == owner && i.LeaseExpiresAt == expires)
                .Select(i => i.Id).ToListAsync(cancellationToken);
            var heldSet = held.ToHashSet(StringComparer.Ordinal);
            foreach (var id in instanceIds.Where(id => !heldSet.Contains(id))) Leases.ReleaseInstance(id);
            return held;
        }
        catch
        {
            foreach (var id in instanceIds) Leases.ReleaseInstance(id);
            throw;
        }
    }

    /// <summary>
    /// The rows, untracked, of instances whose leases this process holds. Read outside the write turn, after the
    /// claim that leased them committed: only a lease holder writes an instance's row, so they cannot change meanwhile
    /// (the rows are most of what a claim reads: every instance's state). One deleted since is let go.
    /// </summary>
    public async Task<IReadOnlyList<InstanceRow>> ReadLeasedAsync(WorkflowDbContext context, IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        if (instanceIds.Count == 0) return [];
        var rows = await context.Instances.AsNoTracking().Where(i => instanceIds.Contains(i.Id)).ToListAsync(cancellationToken);
        var found = rows.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var id in instanceIds.Where(id => !found.Contains(id))) Leases.ReleaseInstance(id);
        return rows;
    }

    /// <summary>Gives the lease back without a commit; a failure is only logged, since the lease then expires.</summary>
    public async Task ReleaseAsync(string instanceId, WorkflowState? state, CancellationToken cancellationToken)
    {
        Leases.ReleaseInstance(instanceId);
        try
        {
            await using var context = await db.CreateDbContextAsync(cancellationToken);
            var row = await context.Instances.SingleOrDefaultAsync(i => i.Id == instanceId && i.LeaseOwner == Owner, cancellationToken);
            if (row is null) return;
            row.SubStatus = (state ?? RuntimeRows.ReadState(row)).SubStatus.ToString();
            row.LeaseOwner = null;
            row.LeaseExpiresAt = null;
            await context.SaveChangesAsync(cancellationToken);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            logger.LogWarning(e, "Could not release the lease of {InstanceId}; it will expire.", instanceId);
        }
    }
}
