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
            // Each push is parsed when its run is formed and let go when the run is stored: a claim of 50 pushes of 100
            // reports held all their JSON and parsed events until its end, and a collection during it had to copy them.
            var rows = new Queue<PushInboxEntity>(claim.TakeRows());
            var claimed = rows.Count;
            if (claimed == 0) return 0;
            var done = new List<long>(claimed);
            var failed = new List<(long Id, string Error, DateTimeOffset RetryAt)>();
            var setAside = new List<SetAsidePush>();
            var run = new List<ClaimedPush>();
            var runEvents = 0;
            while (rows.TryDequeue(out var row))
            {
                ClaimedPush push;
                // Dated by the row: a reply's time decides whether it may answer a wait (the reply claim window), so a push
                // that waited in the inbox keeps the time it came in, not the time it is run.
                try { push = new ClaimedPush(row.Id, row.Attempts, PushEvents.FromJson(row.Events) with { ReceivedAt = new DateTimeOffset(row.ReceivedAtTicks, TimeSpan.Zero) }); }
                catch (System.Text.Json.JsonException ex)
                {
                    failed.Add(Failure(row.Id, row.Attempts, ex, setAside));
                    continue;
                }
                // A run holds at most MaxEventsPerRun events; a push with more is a run of its own.
                if (run.Count > 0 && runEvents + push.Events.Count > options.Value.MaxEventsPerRun)
                {
                    await RunAsync(run, done, failed, setAside, cancellationToken).ConfigureAwait(false);
                    (run, runEvents) = ([], 0);
                }
                run.Add(push);
                runEvents += push.Events.Count;
            }
            if (run.Count > 0) await RunAsync(run, done, failed, setAside, cancellationToken).ConfigureAwait(false);
            await claim.CompleteAsync(done, failed, cancellationToken).ConfigureAwait(false);
            // Told once the rows are set aside for good: a claim that failed to end leaves them to be run again.
            foreach (var push in setAside)
            {
                // Only the error's type: a database error's message can quote the values of the row it failed on.
                logger.LogError("Push inbox row {Id} set aside after {Attempts} failed attempts ({ErrorType}): kept with its error, not tried again",
                    push.Id, push.Attempts, push.ErrorType);
                telemetry.InboxDeadLettered.Add(1, new KeyValuePair<string, object?>("error.type", push.ErrorType));
            }
            return claimed;
        }
    }

    /// <summary>A claimed push, parsed: what its run and its failure need of the row.</summary>
    private sealed record ClaimedPush(long Id, int Attempts, PushEvents Events);

    /// <summary>
    /// Runs the claimed pushes in order as one (cut at <see cref="PushInboxOptions.MaxEventsPerRun"/> events: a vendor's
    /// push holds one event or hundreds, so the push count alone does not bound a run; 50 pushes of 100 reports once
    /// made one accept transaction of 30,000 stimuli that held the runtime's write turn for seconds). A run that fails is
    /// run again push by push, so each push alone finds its culprit.
    /// </summary>
    private async Task RunAsync(List<ClaimedPush> run, List<long> done, List<(long Id, string Error, DateTimeOffset RetryAt)> failed,
        List<SetAsidePush> setAside, CancellationToken cancellationToken)
    {
        var error = await TryRunAsync(run.Select(p => p.Events), cancellationToken).ConfigureAwait(false);
        if (error is null) done.AddRange(run.Select(p => p.Id));
        else if (run.Count == 1) failed.Add(Failure(run[0].Id, run[0].Attempts, error, setAside));
        else
        {
            // Whatever part of the run was stored is found again as duplicates.
            foreach (var push in run)
            {
                if (await TryRunAsync([push.Events], cancellationToken).ConfigureAwait(false) is { } alone) failed.Add(Failure(push.Id, push.Attempts, alone, setAside));
                else done.Add(push.Id);
            }
        }
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

    private (long Id, string Error, DateTimeOffset RetryAt) Failure(long id, int attempts, Exception error, List<SetAsidePush> setAside)
    {
        var o = options.Value;
        var message = $"{error.GetType().Name}: {error.Message}";
        message = message.Length > 2000 ? message[..2000] : message;
        // The exception is logged and kept, never the events: they hold phone numbers and texts.
        if (attempts + 1 >= o.MaxAttempts)
        {
            setAside.Add(new SetAsidePush(id, attempts + 1, error.GetType().Name));
            return (id, message, DeadLetter);
        }
        var delay = TimeSpan.FromTicks(Math.Min(o.MaxRetryDelay.Ticks, o.RetryDelay.Ticks * (1L << Math.Min(attempts, 30))));
        logger.LogError(error, "Push inbox row {Id} failed (attempt {Attempt}); tried again in {Delay}", id, attempts + 1, delay);
        return (id, message, time.GetUtcNow() + delay);
    }
}
