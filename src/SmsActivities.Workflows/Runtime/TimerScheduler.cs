using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Resumes bookmarks whose due time has passed and tells the background loop when the next one is due.</summary>
internal sealed class TimerScheduler(IDbContextFactory<WorkflowDbContext> db, BookmarkResumer resumer, StimulusSender sender, LeaseRenewer leases, TimeProvider time,
    IOptions<WorkflowRuntimeOptions> options)
{
    /// <summary>A busy instance is simply tried on the next pass.</summary>
    /// <returns>How many timers were due (at most <paramref name="max"/>).</returns>
    public async Task<int> ResumeDueAsync(int max, CancellationToken cancellationToken)
    {
        var now = DbTime.ToDb(time.GetUtcNow());
        List<string> due;
        await using (var context = await db.CreateDbContextAsync(cancellationToken))
            due = await DueWorkClaims.ClaimTimersAsync(context, now, now + (long)options.Value.ClaimDuration.TotalMilliseconds, max, cancellationToken);
        // The claim is renewed until each timer's turn is over: one that waits behind a long run here is not taken twice,
        // and if this process dies the rest fall due a claim later, not a lease.
        leases.TrackTimers(due);
        try
        {
            foreach (var id in due)
            {
                try
                {
                    var outcome = await resumer.ResumeAsync(new ResumeRun(id), cancellationToken);
                    await sender.FollowUpAsync(outcome.FollowUps, cancellationToken);
                }
                finally
                {
                    leases.ReleaseTimer(id);
                }
            }
        }
        finally
        {
            foreach (var id in due) leases.ReleaseTimer(id);
        }
        return due.Count;
    }

    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var next = await context.Bookmarks.Where(b => b.DueAt != null).OrderBy(b => b.DueAt).Select(b => b.DueAt).FirstOrDefaultAsync(cancellationToken);
        return DbTime.FromDb(next);
    }
}
