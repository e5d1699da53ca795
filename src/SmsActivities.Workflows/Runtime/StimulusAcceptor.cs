using SmsActivities.Workflows.Execution;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Accepts stimuli durably and returns: one transaction records them with the deliveries they are owed, due at once,
/// and the dispatcher is woken to run those in batches. The caller (a webhook) can acknowledge as soon as this returns.
/// Pushes that arrive while a transaction is being written share the next one (group commit): every caller is
/// answered after the commit that holds its stimuli, and concurrent pushes pay for one write turn instead of queueing
/// for one each.
/// </summary>
internal sealed class StimulusAcceptor(StimulusRecorder recorder, DispatchSignal dispatch, DeliveryTraces traces)
{
    private readonly Lock _lock = new();
    private List<Accept> _waiting = [];
    private bool _writing;

    /// <returns>One result per stimulus, in order; <see cref="StimulusResult.Queued"/> counts the runs left to the dispatcher.</returns>
    public async Task<IReadOnlyList<StimulusResult>> AcceptAsync(IReadOnlyList<Stimulus> stimuli, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stimuli);
        if (stimuli.Count == 0) return [];
        var accept = new Accept(stimuli);
        bool write;
        lock (_lock)
        {
            _waiting.Add(accept);
            write = !_writing;
            _writing = true;
        }
        // Once queued the stimuli are written whatever the caller does: a caller that gives up is not acknowledged,
        // and its vendor's retry is then a duplicate of what was stored.
        if (write) _ = Task.Run(WriteWaitingAsync, CancellationToken.None);
        return await accept.Done.Task.WaitAsync(cancellationToken);
    }

    private async Task WriteWaitingAsync()
    {
        while (true)
        {
            List<Accept> batch;
            lock (_lock)
            {
                if (_waiting.Count == 0)
                {
                    _writing = false;
                    return;
                }
                batch = _waiting;
                _waiting = [];
            }
            try
            {
                var (results, recorded) = await RecordAsync(batch.SelectMany(a => a.Stimuli).ToList());
                var offset = 0;
                foreach (var accept in batch)
                {
                    // Each caller's runs join its own trace, whichever caller's turn wrote them.
                    traces.Remember(recorded.Skip(offset).Take(accept.Stimuli.Count).SelectMany(r => r.Deliveries).Select(d => d.Id), accept.Trace);
                    accept.Done.TrySetResult(results.Skip(offset).Take(accept.Stimuli.Count).ToList());
                    offset += accept.Stimuli.Count;
                }
                if (recorded.Any(r => r.Deliveries.Count > 0)) dispatch.Wake();
            }
            catch (Exception e)
            {
                foreach (var accept in batch) accept.Done.TrySetException(e);
            }
        }
    }

    private async Task<(IReadOnlyList<StimulusResult> Results, IReadOnlyList<RecordedStimulus> Recorded)> RecordAsync(IReadOnlyList<Stimulus> stimuli)
    {
        var recorded = await recorder.RecordAsync(stimuli, TimeSpan.Zero, tellUnstoredRepeats: false, CancellationToken.None);
        return (recorded.Select((r, i) => r.Duplicate
            ? StimulusResult.Repeat
            : new StimulusResult(r.StimulusId, false, r.Deliveries.Count == 0 && stimuli[i].KeepInInbox, [], 0) { Queued = r.Deliveries.Count }).ToList(), recorded);
    }

    private sealed record Accept(IReadOnlyList<Stimulus> Stimuli)
    {
        public System.Diagnostics.ActivityContext Trace { get; } = System.Diagnostics.Activity.Current?.Context ?? default;

        public TaskCompletionSource<IReadOnlyList<StimulusResult>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
