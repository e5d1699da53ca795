using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Instances whose lease expired while executing (their process died) go back to their last committed state; the
/// deliveries that were running them are still pending and run again.
/// </summary>
internal sealed class InstanceRecovery(IDbContextFactory<WorkflowDbContext> db, TimeProvider time, ILogger<InstanceRecovery> logger)
{
    public async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(time.GetUtcNow());
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var stale = await context.Instances.Where(i => i.SubStatus == nameof(WorkflowSubStatus.Executing) && i.LeaseExpiresAt != null && i.LeaseExpiresAt < now)
            .ToListAsync(cancellationToken);
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
        return stale.Count;
    }
}
