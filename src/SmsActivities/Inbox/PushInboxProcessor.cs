using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Stimuli;
using SmsActivities.Telemetry;

namespace SmsActivities.Inbox;

/// <summary>
/// One pass over the push inbox: claims a batch of pushes, runs them through <see cref="SmsStimulusPublisher"/> in runs of
/// up to <see cref="PushInboxOptions.MaxEventsPerRun"/> events (a run's reports in one records write and one accept
/// transaction) and ends the claim. A batch that fails is run again
/// push by push, so one push that cannot be processed keeps its row, with its error and a growing delay, and holds up
/// no other push. After <see cref="PushInboxOptions.MaxAttempts"/> failures the row is set aside for good (due
/// <see cref="DeadLetter"/>), still with its error, for an operator to look at.
/// </summary>
internal sealed class PushInboxProcessor(
    PushInbox inbox,
    SmsStimulusPublisher publisher,
    IOptions<PushInboxOptions> options,
    SmsTelemetry telemetry,
    TimeProvider time,
    ILogger<PushInboxProcessor> logger)
{
    /// <summary>When a dead-lettered row falls due: never. Setting its <c>DueAtTicks</c> back to 0 queues it again.</summary>
    public static readonly DateTimeOffset DeadLetter = DateTimeOffset.MaxValue;

    private static readonly long DeadLetterTicks = DeadLetter.UtcTicks;

    /// <summary>A row set aside (due <see cref="DeadLetter"/>), as every query that lists, re-queues or purges them tells it.</summary>
    internal static readonly System.Linq.Expressions.Expression<Func<PushInboxEntity, bool>> IsSetAside = r => r.DueAtTicks == DeadLetterTicks;

    /// <returns>How many rows the pass claimed (fewer than the batch size: the inbox is drained for now).</returns>
    public async Task<int> ProcessAsync(CancellationToken cancellationToken)
    {
        var claim = await inbox.ClaimAsync(options.Value.BatchSize, cancellationToken).ConfigureAwait(false);
        await using (claim.ConfigureAwait(false))
        {
            if (claim.Rows.Count == 0) return 0;
            var pushes = new List<(PushInboxEntity Row, PushEvents Events)>(claim.Rows.Count);
            var failed = new List<(long Id, string Error, DateTimeOffset RetryAt)>();
            var setAside = new List<SetAsidePush>();
            foreach (var row in claim.Rows)
            {
                // Dated by the row: a reply's time decides whether it may answer a wait (the reply claim window), so a push
                // that waited in the inbox keeps the time it came in, not the time it is run.
                try { pushes.Add((row, PushEvents.FromJson(row.Events) with { ReceivedAt = new DateTimeOffset(row.ReceivedAtTicks, TimeSpan.Zero) })); }
                catch (System.Text.Json.JsonException ex) { failed.Add(Failure(row, ex, setAside)); }
            }
            var done = new List<long>(claim.Rows.Count);
            foreach (var run in Runs(pushes, options.Value.MaxEventsPerRun))
            {
                var error = await TryRunAsync(run.Select(p => p.Events), cancellationToken).ConfigureAwait(false);
                if (error is null) done.AddRange(run.Select(p => p.Row.Id));
                else if (run.Count == 1) failed.Add(Failure(run[0].Row, error, setAside));
                else
                {
                    // Whatever part of the run was stored is found again as duplicates: each push alone finds its culprit.
                    foreach (var (row, events) in run)
                    {
                        if (await TryRunAsync([events], cancellationToken).ConfigureAwait(false) is { } alone) failed.Add(Failure(row, alone, setAside));
                        else done.Add(row.Id);
                    }
                }
            }
            await claim.CompleteAsync(done, failed, cancellationToken).ConfigureAwait(false);
            // Told once the rows are set aside for good: a claim that failed to end leaves them to be run again.
            foreach (var push in setAside)
            {
                // Only the error's type: a database error's message can quote the values of the row it failed on.
                logger.LogError("Push inbox row {Id} set aside after {Attempts} failed attempts ({ErrorType}): kept with its error, not tried again",
                    push.Id, push.Attempts, push.ErrorType);
                telemetry.InboxDeadLettered.Add(1, new KeyValuePair<string, object?>("error.type", push.ErrorType));
            }
            return claim.Rows.Count;
        }
    }

    /// <summary>
    /// The claimed pushes in order, cut into runs of at most <paramref name="maxEvents"/> events (a push larger than that
    /// is a run of its own). A vendor's push holds one event or hundreds, so the push count alone does not bound a run:
    /// 50 pushes of 100 reports made one accept transaction of 30,000 stimuli that held the runtime's write turn for
    /// seconds, left the dispatcher idle until it ended, and kept all of it in memory long enough to reach the older
    /// garbage-collection generations.
    /// </summary>
    private static IEnumerable<List<(PushInboxEntity Row, PushEvents Events)>> Runs(List<(PushInboxEntity Row, PushEvents Events)> pushes, int maxEvents)
    {
        var run = new List<(PushInboxEntity Row, PushEvents Events)>();
        var events = 0;
        foreach (var push in pushes)
        {
            if (run.Count > 0 && events + push.Events.Count > maxEvents)
            {
                yield return run;
                (run, events) = ([], 0);
            }
            run.Add(push);
            events += push.Events.Count;
        }
        if (run.Count > 0) yield return run;
    }

    /// <returns>Null when the pushes were run, else what failed.</returns>
    private async Task<Exception?> TryRunAsync(IEnumerable<PushEvents> pushes, CancellationToken cancellationToken)
    {
        var all = pushes.ToArray();
        var (events, receivedAt) = PushEvents.Concat(all);
        // The batch's span continues the trace of its first push and links the others' (a batch has one accept).
        ActivityContext.TryParse(events.Trace, null, out var parent);
        var links = all.Skip(1).Select(p => ActivityContext.TryParse(p.Trace, null, out var c) ? new ActivityLink(c) : default)
            .Where(l => l.Context != default).ToArray();
        using var span = SmsTelemetry.Source.StartActivity("sms.inbox", ActivityKind.Consumer, parent, links: links);
        span?.SetTag("sms.pushes", all.Length);
        try
        {
            // Reports are accepted and left to the dispatcher; replies and email events run their workflows here, in the
            // order they came, since a reply may start a workflow that waits for the next reply of the same push.
            var reports = events.Reports.Count;
            if (reports > 0) await publisher.PublishAsync(events.Reports, [], [], receivedAt.Take(reports).ToArray(), cancellationToken).ConfigureAwait(false);
            if (events.Replies.Count + events.EmailEvents.Count > 0)
                await publisher.PublishAsync([], events.Replies, events.EmailEvents, receivedAt.Skip(reports).ToArray(), cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            span?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            return ex;
        }
    }

    /// <summary>A row <see cref="Failure"/> sets aside, logged and counted once the claim that sets it aside has ended.</summary>
    private readonly record struct SetAsidePush(long Id, int Attempts, string ErrorType);

    private (long Id, string Error, DateTimeOffset RetryAt) Failure(PushInboxEntity row, Exception error, List<SetAsidePush> setAside)
    {
        var o = options.Value;
        var message = $"{error.GetType().Name}: {error.Message}";
        message = message.Length > 2000 ? message[..2000] : message;
        // The exception is logged and kept, never the events: they hold phone numbers and texts.
        if (row.Attempts + 1 >= o.MaxAttempts)
        {
            setAside.Add(new SetAsidePush(row.Id, row.Attempts + 1, error.GetType().Name));
            return (row.Id, message, DeadLetter);
        }
        var delay = TimeSpan.FromTicks(Math.Min(o.MaxRetryDelay.Ticks, o.RetryDelay.Ticks * (1L << Math.Min(row.Attempts, 30))));
        logger.LogError(error, "Push inbox row {Id} failed (attempt {Attempt}); tried again in {Delay}", row.Id, row.Attempts + 1, delay);
        return (row.Id, message, time.GetUtcNow() + delay);
    }
}
