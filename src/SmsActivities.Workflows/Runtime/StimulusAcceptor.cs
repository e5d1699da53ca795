using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Accepts stimuli durably and returns: one transaction records them with the deliveries they are owed, due at once,
/// and the dispatcher is woken to run those in batches. The caller (a webhook) can acknowledge as soon as this returns.
/// </summary>
internal sealed class StimulusAcceptor(StimulusRecorder recorder, DispatchSignal dispatch, DeliveryTraces traces)
{
    /// <returns>One result per stimulus, in order; <see cref="StimulusResult.Queued"/> counts the runs left to the dispatcher.</returns>
    public async Task<IReadOnlyList<StimulusResult>> AcceptAsync(IReadOnlyList<Stimulus> stimuli, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stimuli);
        if (stimuli.Count == 0) return [];
        var recorded = await recorder.RecordAsync(stimuli, TimeSpan.Zero, cancellationToken);
        if (recorded is null)
        {
            // Lost a race on a dedupe key: each is tried alone, so the unique key decides which are duplicates.
            if (stimuli.Count == 1) return [StimulusResult.Repeat];
            var oneByOne = new List<StimulusResult>(stimuli.Count);
            foreach (var stimulus in stimuli) oneByOne.AddRange(await AcceptAsync([stimulus], cancellationToken));
            return oneByOne;
        }
        traces.Remember(recorded.SelectMany(r => r.Deliveries).Select(d => d.Id));
        if (recorded.Any(r => r.Deliveries.Count > 0)) dispatch.Wake();
        return recorded.Select((r, i) => r.Duplicate
            ? StimulusResult.Repeat
            : new StimulusResult(r.StimulusId, false, r.Deliveries.Count == 0 && stimuli[i].KeepInInbox, [], 0) { Queued = r.Deliveries.Count }).ToList();
    }
}
