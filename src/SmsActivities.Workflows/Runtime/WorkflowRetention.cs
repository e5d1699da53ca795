using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>What one purge removed.</summary>
public sealed record RetentionResult(int Instances, int StimulusInputs)
{
    /// <summary>Suspended instances deleted because nothing resumed them within <see cref="WorkflowRetentionOptions.AbandonedInstances"/>.</summary>
    public int AbandonedInstances { get; init; }

    /// <summary>Completed alteration plans deleted (with their jobs) past <see cref="WorkflowRetentionOptions.CompletedAlterationPlans"/>.</summary>
    public int AlterationPlans { get; init; }
}

/// <summary>Deletes finished instances and completed alteration plans, and blanks served stimulus bodies, past <see cref="WorkflowRetentionOptions"/>.</summary>
public sealed class WorkflowRetention
{
    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly WorkflowRetentionOptions _options;
    private readonly TimeProvider _time;

    internal WorkflowRetention(IDbContextFactory<WorkflowDbContext> db, IOptions<WorkflowRetentionOptions> options, TimeProvider time)
    {
        _db = db;
        _options = options.Value;
        _time = time;
    }

    public async Task<RetentionResult> PurgeAsync(CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var instances = 0;
        while (true)
        {
            var deleted = await PurgeFinishedBatchAsync(DbTime.ToDb(now - _options.FinishedInstances), cancellationToken);
            instances += deleted;
            if (deleted < _options.BatchSize) break;
        }
        var abandoned = 0;
        while (_options.AbandonedInstances is { } idle)
        {
            var deleted = await PurgeAbandonedBatchAsync(DbTime.ToDb(now - idle), DbTime.ToDb(now), cancellationToken);
            abandoned += deleted;
            if (deleted < _options.BatchSize) break;
        }
        var inputs = await BlankServedInputsAsync(DbTime.ToDb(now - _options.ServedStimulusInputs), cancellationToken);
        var plans = 0;
        while (true)
        {
            var deleted = await PurgeCompletedPlansBatchAsync(DbTime.ToDb(now - _options.CompletedAlterationPlans), cancellationToken);
            plans += deleted;
            if (deleted < _options.BatchSize) break;
        }
        if (instances + abandoned + inputs + plans > 0) await CheckpointAsync(cancellationToken);
        return new RetentionResult(instances, inputs) { AbandonedInstances = abandoned, AlterationPlans = plans };
    }

    private async Task<int> PurgeFinishedBatchAsync(long endedBefore, CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        var finished = nameof(WorkflowStatus.Finished);
        var ids = await db.Instances.Where(i => i.Status == finished && i.FinishedAt != null && i.FinishedAt < endedBefore)
            .OrderBy(i => i.FinishedAt).Select(i => i.Id).Take(_options.BatchSize).ToListAsync(cancellationToken);
        return await DeleteAsync(db, tx, ids, i => i.Status == finished, cancellationToken);
    }

    /// <summary>Suspended, unleased, not updated since <paramref name="idleSince"/>, and no timer of its own that could still wake it.</summary>
    private async Task<int> PurgeAbandonedBatchAsync(long idleSince, long now, CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        var suspended = nameof(WorkflowSubStatus.Suspended);
        var ids = await db.Instances
            .Where(i => i.SubStatus == suspended && i.UpdatedAt < idleSince && (i.LeaseExpiresAt == null || i.LeaseExpiresAt < now)
                        && !db.Bookmarks.Any(b => b.InstanceId == i.Id && b.DueAt != null))
            .OrderBy(i => i.UpdatedAt).Select(i => i.Id).Take(_options.BatchSize).ToListAsync(cancellationToken);
        // Checked again in the delete, inside the transaction: a resume that moved it meanwhile keeps it.
        return await DeleteAsync(db, tx, ids, i => i.SubStatus == suspended && i.UpdatedAt < idleSince, cancellationToken);
    }

    private static async Task<int> DeleteAsync(WorkflowDbContext db, Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction tx, List<string> ids,
        System.Linq.Expressions.Expression<Func<InstanceRow, bool>> stillDue, CancellationToken cancellationToken)
    {
        if (ids.Count == 0) return 0;
        await db.Executions.Where(e => ids.Contains(e.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await db.Journal.Where(j => ids.Contains(j.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await db.Bookmarks.Where(b => ids.Contains(b.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        await db.Deliveries.Where(d => d.InstanceId != null && ids.Contains(d.InstanceId)).ExecuteDeleteAsync(cancellationToken);
        var deleted = await db.Instances.Where(i => ids.Contains(i.Id)).Where(stillDue).ExecuteDeleteAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return deleted;
    }

    /// <summary>A batch of plans completed before <paramref name="completedBefore"/>, their jobs first, in one transaction.</summary>
    private async Task<int> PurgeCompletedPlansBatchAsync(long completedBefore, CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
        var ids = await db.AlterationPlans.Where(p => p.Status == "Completed" && p.CompletedAt != null && p.CompletedAt < completedBefore)
            .OrderBy(p => p.CompletedAt).Select(p => p.Id).Take(_options.BatchSize).ToListAsync(cancellationToken);
        if (ids.Count == 0) return 0;
        await db.AlterationJobs.Where(j => ids.Contains(j.PlanId)).ExecuteDeleteAsync(cancellationToken);
        var deleted = await db.AlterationPlans.Where(p => ids.Contains(p.Id)).ExecuteDeleteAsync(cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return deleted;
    }

    /// <summary>Served stimuli keep their dedupe key and hash until they expire; their bodies are not needed once no delivery waits on them.</summary>
    private async Task<int> BlankServedInputsAsync(long receivedBefore, CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        return await db.Stimuli
            .Where(s => s.Status == StimulusStatus.Consumed && s.InputJson != null && s.ReceivedAt < receivedBefore && !db.Deliveries.Any(d => d.StimulusId == s.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.InputJson, (string?)null), cancellationToken);
    }

    /// <summary>
    /// With SQLite, deleted rows are zeroed in the file (secure_delete) but older page images stay in the write-ahead
    /// log until a checkpoint: TRUNCATE copies them back and empties the log. Best effort: busy readers make it a no-op.
    /// </summary>
    private async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        if (db.Database.IsSqlite()) await db.Database.ExecuteSqlRawAsync("PRAGMA wal_checkpoint(TRUNCATE);", cancellationToken);
    }
}
