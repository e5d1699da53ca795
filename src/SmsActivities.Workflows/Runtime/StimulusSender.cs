using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Sends stimuli: records a batch (<see cref="StimulusRecorder"/>), then runs the deliveries it matched, at most
/// <see cref="WorkflowRuntimeOptions.MaxParallelRuns"/> instances at once, and the follow-ups their commits left.
/// </summary>
internal sealed class StimulusSender(
    IDbContextFactory<WorkflowDbContext> db,
    StimulusRecorder recorder,
    DeliveryRunner runner,
    IOptions<WorkflowRuntimeOptions> options)
{
    /// <returns>One result per stimulus, in order.</returns>
    public async Task<IReadOnlyList<StimulusResult>> SendAsync(IReadOnlyList<Stimulus> stimuli, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stimuli);
        if (stimuli.Count == 0) return [];
        var recorded = await recorder.RecordAsync(stimuli, options.Value.LeaseWaitTimeout, tellUnstoredRepeats: true, cancellationToken);

        var runs = recorded.Select(_ => new List<WorkflowRunResult>()).ToArray();
        var deferred = new int[recorded.Count];
        var dropped = new int[recorded.Count];
        // Deliveries to one instance run in order on one lane; lanes of different instances run side by side.
        var lanes = recorded.SelectMany((r, i) => r.Deliveries.Select(d => (Index: i, Delivery: d)))
            .GroupBy(x => x.Delivery.InstanceId ?? x.Delivery.Id, StringComparer.Ordinal).ToList();
        await Parallel.ForEachAsync(lanes, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Value.MaxParallelRuns), CancellationToken = cancellationToken },
            async (lane, ct) =>
            {
                foreach (var (index, delivery) in lane)
                {
                    var stimulus = stimuli[index];
                    var outcome = await runner.RunAsync(delivery, stimulus.Input, stimulus.CorrelationId, ct, stimulus.Hash, stimulus.DropWhenBusy);
                    lock (runs[index])
                    {
                        if (outcome.Result != null) runs[index].Add(outcome.Result);
                        if (outcome.Deferred && stimulus.DropWhenBusy) dropped[index]++;
                        else if (outcome.Deferred) deferred[index]++;
                    }
                    await FollowUpAsync(outcome.FollowUps, ct);
                }
            });
        var results = recorded.Select((r, i) => r.Duplicate
            ? StimulusResult.Repeat
            : new StimulusResult(r.StimulusId, false, r.Deliveries.Count == 0 && stimuli[i].KeepInInbox, runs[i], deferred[i]) { Dropped = dropped[i] }).ToList();
        if (lanes.Count > 0) await SendLateMatchesAsync(stimuli, recorded, results, cancellationToken);
        return results;
    }

    /// <summary>
    /// Runs the deliveries a commit wrote: inbox matches to resume (those of one instance in one run, as when a campaign's
    /// wait claims the reports that came before it), then what the stimuli its run published are owed.
    /// </summary>
    public async Task FollowUpAsync(IReadOnlyList<FollowUp> followUps, CancellationToken cancellationToken)
    {
        var lanes = followUps.Select(f => new DueDelivery(f.Delivery, f.Input, f.CorrelationId, null))
            .GroupBy(d => d.Delivery.InstanceId ?? d.Delivery.Id, StringComparer.Ordinal);
        foreach (var lane in lanes)
        {
            var outcome = await runner.RunLaneAsync(lane.ToList(), cancellationToken);
            await FollowUpAsync(outcome.FollowUps, cancellationToken);
        }
    }

    /// <summary>
    /// One after the other, a stimulus that must not wait would have met the bookmark an earlier one of the same batch
    /// made (a reply that starts a workflow which then waits for the next reply of the same push). The batch matched
    /// them all before any ran, so those that matched nothing are tried once more against the bookmarks there are now.
    /// </summary>
    private async Task SendLateMatchesAsync(IReadOnlyList<Stimulus> stimuli, IReadOnlyList<RecordedStimulus> recorded, List<StimulusResult> results,
        CancellationToken cancellationToken)
    {
        var unmatched = Enumerable.Range(0, stimuli.Count).Where(i => !recorded[i].Duplicate && recorded[i].Deliveries.Count == 0 && !stimuli[i].KeepInInbox).ToList();
        if (unmatched.Count == 0) return;
        var hashes = unmatched.Select(i => stimuli[i].Hash).Distinct(StringComparer.Ordinal).ToList();
        HashSet<string> waiting;
        await using (var context = await db.CreateDbContextAsync(cancellationToken))
            waiting = (await context.Bookmarks.Where(b => hashes.Contains(b.Hash)).Select(b => b.Hash).Distinct().ToListAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var again = unmatched.Where(i => waiting.Contains(stimuli[i].Hash)).ToList();
        if (again.Count == 0) return;
        // A remembered stimulus already holds its dedupe key: its late match goes without one (the stored key still
        // turns away a repeat of the whole push).
        var late = await SendAsync(again.Select(i => stimuli[i].RememberWhenUnmatched ? stimuli[i] with { DedupeKey = null, RememberWhenUnmatched = false } : stimuli[i]).ToList(),
            cancellationToken);
        for (var j = 0; j < again.Count; j++) results[again[j]] = late[j];
    }
}
