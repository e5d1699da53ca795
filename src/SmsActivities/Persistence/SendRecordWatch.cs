using System.Collections.Concurrent;

namespace SmsActivities.Persistence;

/// <summary>
/// Tells the dispatcher batches that have read sends' rows ahead for their waits (<see cref="BatchSendRows"/>) which
/// sends' records a run has written since: a run that writes a send's records and then ends a wait on it must read what
/// it wrote, so such a send is read again. <see cref="SendRecordStore"/> tells it after each write a run makes.
/// </summary>
public sealed class SendRecordWatch
{
    private readonly ConcurrentDictionary<BatchSendRows, byte> _reading = new();

    /// <summary>From before its read until its batch is done.</summary>
    internal void Add(BatchSendRows batch) => _reading.TryAdd(batch, 0);

    internal void Remove(BatchSendRows batch) => _reading.TryRemove(batch, out _);

    /// <summary>
    /// After a run's write to the records of <paramref name="sendKey"/> (an attempt's or a time zone group's key; null:
    /// records by id, of a send not told, so of any). After, not before: a read that began before the write may not see
    /// it, and one that begins after it does.
    /// </summary>
    internal void Written(string? sendKey)
    {
        if (_reading.IsEmpty) return;
        var send = sendKey is null ? null : SendRecordStore.AttemptKey(sendKey);
        foreach (var batch in _reading.Keys) batch.Written(send);
    }
}
