using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>The delivery rows' small writes outside a run's commit: dropping one that is owed nothing, deferring one to a retry.</summary>
internal sealed class DeliveryLedger(IDbContextFactory<WorkflowDbContext> db, TimeProvider time, IOptions<WorkflowRuntimeOptions> options)
{
    public async Task<RunOutcome> DropAsync(string? deliveryId, CancellationToken cancellationToken)
    {
        if (deliveryId != null)
        {
            await using var context = await db.CreateDbContextAsync(cancellationToken);
            await context.Deliveries.Where(d => d.Id == deliveryId).ExecuteDeleteAsync(cancellationToken);
        }
        return RunOutcome.Nothing;
    }

    /// <summary>Retries back off exponentially (capped at 10 minutes) so a delivery that keeps failing does not hammer the database.</summary>
    public async Task DeferAsync(DeliveryRow delivery, CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var poll = options.Value.PollInterval;
        var backoff = TimeSpan.FromTicks(Math.Min(poll.Ticks * (1L << Math.Min(delivery.Attempts, 20)), TimeSpan.FromMinutes(10).Ticks));
        var next = DbTime.ToDb(time.GetUtcNow() + backoff);
        var deliveryId = delivery.Id;
        await context.Deliveries.Where(d => d.Id == deliveryId)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, next).SetProperty(d => d.Attempts, d => d.Attempts + 1), cancellationToken);
    }
}
