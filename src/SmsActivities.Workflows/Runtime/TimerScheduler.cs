using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Resumes bookmarks whose due time has passed and tells the background loop when the next one is due.</summary>
internal sealed class TimerScheduler(IDbContextFactory<WorkflowDbContext> db, BookmarkResumer resumer, StimulusSender sender, BackgroundActivityRuns background,
    LeaseRenewer leases, TimeProvider time, IOptions<WorkflowRuntimeOptions> options)
{
    /// <summary>
    /// A busy instance is simply tried on the next pass. The background part of a <c>runAsynchronously</c> activity is
    /// handed to <see cref="BackgroundActivityRuns"/>, so a long one does not hold up the timers due after it.
    /// </summary>
    /// <param name="stopping">Cancels the handed-over background runs too: the host's stopping token.</param>
    /// <returns>How many timers were due (at most <paramref name="max"/>).</returns>
    public async Task<int> ResumeDueAsync(int max, CancellationToken stopping)
    {
        var now = DbTime.ToDb(time.GetUtcNow());
        List<DueWorkClaims.DueTimer> due;
        await using (var context = await db.CreateDbContextAsync(stopping))
            due = await DueWorkClaims.ClaimTimersAsync(context, now, now + (long)options.Value.ClaimDuration.TotalMilliseconds, max, background.Accepted, stopping);
        // The claim is renewed until each timer's turn is over (a background run's: until that run ends): one that waits
        // behind a long run here is not taken twice, and if this process dies the rest fall due a claim later, not a lease.
        leases.TrackTimers(due.Select(t => t.Id));
        var handedOver = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var timer in due)
            {
                if (timer.Name == ActivityExecutionContext.BackgroundBookmarkName)
                {
                    if (background.Accept(timer.Id, stopping, () => leases.ReleaseTimer(timer.Id))) handedOver.Add(timer.Id);
                    continue;
                }
                try
                {
                    var outcome = await resumer.ResumeAsync(new ResumeRun(timer.Id), stopping);
                    await sender.FollowUpAsync(outcome.FollowUps, stopping);
                }
                finally
                {
                    leases.ReleaseTimer(timer.Id);
                }
            }
        }
        finally
        {
            foreach (var timer in due.Where(t => !handedOver.Contains(t.Id))) leases.ReleaseTimer(timer.Id);
        }
        return due.Count;
    }

    /// <summary>When the next timer is due, leaving out the background runs under way (their bookmarks stay due until they commit).</summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        var running = background.Accepted;
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        var next = await context.Bookmarks.Where(b => b.DueAt != null && !running.Contains(b.Id)).OrderBy(b => b.DueAt).Select(b => b.DueAt).FirstOrDefaultAsync(cancellationToken);
        return DbTime.FromDb(next);
    }

    /// <summary>Waits for the background runs under way, once the host is stopping.</summary>
    public Task WhenBackgroundIdleAsync() => background.WhenIdleAsync();
}
