using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using SmsActivities.Stimuli;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Persistence;

/// <summary>
/// The rows of the sends whose waits a dispatcher batch ends, read with one statement for the whole batch (when the first
/// of its waits ends) instead of one per wait. Read ahead are the sends the batch's send reports found all reported (the
/// counts their stimuli carry); a wait on another send, or on one whose records a run wrote since the read began
/// (<see cref="SendRecordWatch"/>), reads its own rows as before. Either way the rows are read after the batch was
/// claimed, so a wait sees every report whose stimulus resumed it.
/// </summary>
internal sealed class BatchSendRows : IDisposable
{
    private readonly SendReportLedger _ledger;
    private readonly SendRecordWatch _watch;
    /// <summary>The sends read ahead (by key), each with the instance whose wait resumes on it.</summary>
    private readonly Lazy<Dictionary<string, string>> _ahead;
    private readonly ConcurrentDictionary<string, byte> _written = new(StringComparer.Ordinal);
    private volatile bool _writtenByIds;
    private readonly Lock _gate = new();
    private Task<SendRowsRead>? _read;

    private BatchSendRows(ResumeBatch batch, SendReportLedger ledger, SendRecordWatch watch)
    {
        _ledger = ledger;
        _watch = watch;
        _ahead = new(() => AllReported(batch));
    }

    /// <summary>The rows a wait on <paramref name="send"/> reads when it ends: from its batch's read (<paramref name="batch"/>) when it has one.</summary>
    public static Task<IReadOnlyList<SendReportRow>> RowsAsync(ResumeBatch? batch, SendReportLedger ledger, SendRecordWatch? watch, SendReference send, bool includeInDoubt,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(send);
        if (batch is null || watch is null) return ledger.RowsAsync(send, includeInDoubt, cancellationToken);
        return batch.Shared(b => new BatchSendRows(b, ledger, watch)).RowsAsync(send, includeInDoubt, cancellationToken);
    }

    private async Task<IReadOnlyList<SendReportRow>> RowsAsync(SendReference send, bool includeInDoubt, CancellationToken cancellationToken)
    {
        if (_ahead.Value.TryGetValue(send.Key, out var instanceId) && instanceId == send.InstanceId)
        {
            var read = await ReadAsync(cancellationToken).ConfigureAwait(false);
            // Checked once the read is done: a write the read may have missed was told by then.
            if (!_writtenByIds && !_written.ContainsKey(send.Key) && read.For(send, includeInDoubt) is { } rows) return rows;
        }
        return await _ledger.RowsAsync(send, includeInDoubt, cancellationToken).ConfigureAwait(false);
    }

    private Task<SendRowsRead> ReadAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<SendRowsRead> reading;
        lock (_gate)
        {
            if (_read is { } read) return read;
            reading = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _read = reading.Task;
        }
        // Outside the lock: on SQLite the read runs on the caller's thread to its end, and the batch's other waits await
        // it meanwhile instead of blocking theirs. Watched before the read begins, so no write after it goes untold.
        _watch.Add(this);
        return ReadIntoAsync(reading, cancellationToken);
    }

    private async Task<SendRowsRead> ReadIntoAsync(TaskCompletionSource<SendRowsRead> reading, CancellationToken cancellationToken)
    {
        try
        {
            reading.SetResult(await _ledger.ReadRowsAsync(_ahead.Value.Select(s => (s.Key, s.Value)).ToArray(), cancellationToken).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            reading.SetException(e);
        }
        return await reading.Task.ConfigureAwait(false);
    }

    /// <summary>See <see cref="SendRecordWatch.Written"/>; <paramref name="send"/> null: records written by id, of any send.</summary>
    internal void Written(string? send)
    {
        if (send is null) _writtenByIds = true;
        else _written.TryAdd(send, 0);
    }

    /// <summary>
    /// The sends the batch's send reports say are all reported (with the recipients in doubt too, so whichever a wait
    /// counts): the waits that end on them are the ones to read for. A wait that ends otherwise reads alone.
    /// </summary>
    private static Dictionary<string, string> AllReported(ResumeBatch batch)
    {
        var sends = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resumption in batch.Resumptions)
        {
            if (resumption.StimulusName != SmsStimuli.WaitForDeliveryReport) continue;
            if (SendReportInput.CountsOf(resumption.Input)?.For(includeInDoubt: true) is not { Pending: 0, Targets: > 0 }) continue;
            if (resumption.Payload is JsonObject payload && ValueConverter.Convert<SendReportsBookmark>(payload) is { Send: { } key })
                sends.TryAdd(key, resumption.InstanceId);
        }
        return sends;
    }

    public void Dispose() => _watch.Remove(this);
}
