using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Instances whose lease expired while executing (their process died) go back to their last committed state; the
/// deliveries that were running them are still pending and run again.
/// </summary>
internal sealed class InstanceRecovery(IDbContextFactory<WorkflowDbContext> db, InstanceOwnership ownership, TimeProvider time, ILogger<InstanceRecovery> logger)
{
    public async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(time.GetUtcNow());
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var stale = (await context.Instances.Where(i => i.SubStatus == nameof(WorkflowSubStatus.Executing) && i.LeaseExpiresAt != null && i.LeaseExpiresAt < now)
                .ToListAsync(cancellationToken))
            .Where(i => i.LeaseOwner != ownership.Owner || !ownership.Leases.Holds(i.Id)).ToList(); // a renewal that came late is not a crash
        foreach (var row in stale)
        {
            var state = RuntimeRows.ReadState(row);
            logger.LogWarning("Recovering workflow instance {InstanceId} left executing by {Owner}.", row.Id, row.LeaseOwner);
            row.SubStatus = state.SubStatus.ToString();
            row.Status = state.Status.ToString();
            row.LeaseOwner = null;
            row.LeaseExpiresAt = null;
        }
        await context.SaveChangesAsync(cancellationToken);
        // The deliveries the dead process was running have backed off while it held the lease: they are due now.
        var recovered = stale.Select(i => i.Id).ToList();
        if (recovered.Count > 0)
            await context.Deliveries.Where(d => d.InstanceId != null && recovered.Contains(d.InstanceId) && d.NextAttemptAt > now)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, now), cancellationToken);
        return stale.Count;
    }
}
