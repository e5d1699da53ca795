using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Runs the background part of activities marked <c>runAsynchronously</c> (a campaign's send can take minutes) on
/// workers of their own, so the timer loop that hands them over goes on firing other timers meanwhile. A run that
/// finds its instance busy, or dies with the process, leaves its bookmark due: a later pass hands it over again.
/// </summary>
internal sealed class BackgroundActivityRuns(BookmarkResumer resumer, StimulusSender sender, ILogger<BackgroundActivityRuns> logger)
{
    // Enough to keep a few long sends going at once without letting a burst of them take every database connection.
    private static readonly int Workers = Math.Max(2, Environment.ProcessorCount);
    private readonly SemaphoreSlim _slots = new(Workers);
    private readonly ConcurrentDictionary<string, Task> _accepted = new(StringComparer.Ordinal);

    /// <summary>The bookmarks handed over and not finished yet: the timer loop neither claims nor waits for them again.</summary>
    public IReadOnlyCollection<string> Accepted => _accepted.Keys.ToArray();

    /// <summary>Queues the resumption of <paramref name="bookmarkId"/> (once, however often it is handed over) and returns at once.</summary>
    /// <param name="finished">Called when the run is over, whatever its end (the caller stops renewing its claim).</param>
    /// <returns>False when that bookmark was handed over already and is still running (<paramref name="finished"/> is not called).</returns>
    public bool Accept(string bookmarkId, CancellationToken stopping, Action finished)
    {
        var run = new TaskCompletionSource();
        if (!_accepted.TryAdd(bookmarkId, run.Task)) return false;
        _ = Task.Run(async () =>
        {
            try { await RunAsync(bookmarkId, stopping); }
            finally
            {
                _accepted.TryRemove(bookmarkId, out _);
                finished();
                run.SetResult();
            }
        }, CancellationToken.None);
        return true;
    }

    /// <summary>Waits for the runs under way (the host is stopping: they see its cancellation).</summary>
    public Task WhenIdleAsync() => Task.WhenAll(_accepted.Values);

    private async Task RunAsync(string bookmarkId, CancellationToken stopping)
    {
        try
        {
            await _slots.WaitAsync(stopping);
            try
            {
                var outcome = await resumer.ResumeAsync(new ResumeRun(bookmarkId), stopping);
                await sender.FollowUpAsync(outcome.FollowUps, stopping);
            }
            finally
            {
                _slots.Release();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "The background run of bookmark {BookmarkId} failed; it is tried again on a later pass.", bookmarkId);
        }
    }
}
