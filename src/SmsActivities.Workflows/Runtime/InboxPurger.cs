using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Drops stimuli past their retention: unmatched ones expire, consumed ones stop guarding their dedupe key.</summary>
internal sealed class InboxPurger(IDbContextFactory<WorkflowDbContext> db, TimeProvider time)
{
    public async Task<int> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(time.GetUtcNow());
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        return await context.Stimuli.Where(s => s.ExpiresAt < now && !context.Deliveries.Any(d => d.StimulusId == s.Id)).ExecuteDeleteAsync(cancellationToken);
    }
}
