namespace SmsActivities.Persistence;

/// <summary>
/// The rows of several sends read at once (<see cref="SendReportLedger.ReadRowsAsync"/>), each wait's answered as
/// <see cref="SendReportLedger.RowsAsync"/> would: the same rows in the same order, by the same rules, only told apart here.
/// </summary>
internal sealed class SendRowsRead
{
    /// <summary>A row as read, with what tells which send it belongs to.</summary>
    internal sealed record Row(string Key, string? InstanceId, string? ActivityId, SendReportRow Report);

    /// <summary>Per send read (by its key): the instance it was read for, and its rows with whether each carries the send's own key.</summary>
    private readonly Dictionary<string, (string InstanceId, List<(Row Row, bool OwnKey)> Rows)> _sends = new(StringComparer.Ordinal);

    internal void Add(IReadOnlyList<(string Key, string InstanceId)> sends, IReadOnlyList<Row> rows)
    {
        foreach (var (key, instanceId) in sends) _sends[key] = (instanceId, []);
        var keys = sends.Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        var byInstance = sends.ToLookup(s => s.InstanceId, s => s.Key, StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (keys.Contains(row.Key)) _sends[row.Key].Rows.Add((row, true));
            if (row.InstanceId is null) continue;
            // A time zone group's record: its instance's sends whose groups' prefix it has (its activity is told by the wait).
            foreach (var key in byInstance[row.InstanceId])
                if (row.Key != key && row.Key.StartsWith(SendRecordStore.ZoneKeyPrefix(key), StringComparison.Ordinal)) _sends[key].Rows.Add((row, false));
        }
    }

    /// <summary>The rows a wait on <paramref name="send"/> reads; null when the send was not read here.</summary>
    public IReadOnlyList<SendReportRow>? For(SendReference send, bool includeInDoubt)
    {
        ArgumentNullException.ThrowIfNull(send);
        if (!_sends.TryGetValue(send.Key, out var read) || read.InstanceId != send.InstanceId) return null;
        return read.Rows.Where(r => (r.OwnKey || r.Row.ActivityId == send.ActivityId)
                                    && ((r.Row.Report.RecordStatus == SendRecordStatus.Accepted && r.Row.Report.MessageId != null)
                                        || (includeInDoubt && r.Row.Report.RecordStatus is SendRecordStatus.InDoubt or SendRecordStatus.Pending)))
            .Select(r => r.Row.Report).ToArray();
    }
}
