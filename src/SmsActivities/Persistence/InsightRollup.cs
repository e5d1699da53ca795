using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// The pre-summed insights cells (<see cref="InsightCellEntity"/>): every SMS send record, joined with its message's
/// delivery report, counts once in the cell of its minute, instance, step, vendor, status, report, failure code and
/// latency bucket. A write that changes a record or a report takes its old contribution out and puts the new one in,
/// in the transaction that makes the change, so the cells always equal the records summed. A report that comes
/// before its send settled counts nowhere until the send settles (no record carries its message id yet); the settle
/// then finds it, and never counts it twice, since a record's contribution is always computed from the record and
/// the report as they stand.
/// </summary>
internal static class InsightRollup
{
    /// <summary>
    /// Opens the transaction every change to send records or reports runs in, so what it reads is what it changes.
    /// SQLite's write transactions are serialised already. On PostgreSQL the transaction first takes advisory locks
    /// on what it touches (<see cref="SendLock"/>, <see cref="MessageLock"/>), before it reads anything: a report and
    /// the settle of its send both lock the message, so each sees the other's commit and the pair counts once, while
    /// writers of other messages and sends go on side by side (the cell upserts add, so their order does not matter).
    /// <paramref name="laterLocks"/>: how many more the caller may take once it has read (<see cref="RollupTransaction.LockAsync"/>).
    /// </summary>
    public static Task<RollupTransaction> BeginAsync(SmsActivitiesDbContext db, IEnumerable<string> locks, CancellationToken cancellationToken, int laterLocks = 0) =>
        BeginAsync(db, locks, laterLocks, exclusive: false, cancellationToken);

    /// <summary>
    /// <see cref="BeginAsync(SmsActivitiesDbContext, IEnumerable{string}, CancellationToken, int)"/> inside a transaction
    /// another writer began on <paramref name="db"/>'s connection (a run's commit): the same locks, and neither committed
    /// nor rolled back here.
    /// </summary>
    public static async Task<RollupTransaction> JoinAsync(SmsActivitiesDbContext db, System.Data.Common.DbTransaction transaction, IEnumerable<string> locks,
        CancellationToken cancellationToken, int laterLocks = 0)
    {
        var joined = await db.Database.UseTransactionAsync(transaction, cancellationToken).ConfigureAwait(false)
                     ?? throw new InvalidOperationException("no transaction to join");
        var scope = new RollupTransaction(db, joined, DatabaseEngine.IsPostgres(db.Database), owned: false);
        await scope.EnterAsync(locks, laterLocks, alone: false, cancellationToken).ConfigureAwait(false);
        return scope;
    }

    /// <summary>Retention's transaction: no other writer of records, reports or cells runs meanwhile.</summary>
    public static Task<RollupTransaction> BeginExclusiveAsync(SmsActivitiesDbContext db, CancellationToken cancellationToken) =>
        BeginAsync(db, [], 0, exclusive: true, cancellationToken);

    private static async Task<RollupTransaction> BeginAsync(SmsActivitiesDbContext db, IEnumerable<string> locks, int laterLocks, bool exclusive, CancellationToken cancellationToken)
    {
        var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var scope = new RollupTransaction(db, transaction, DatabaseEngine.IsPostgres(db.Database));
        try
        {
            await scope.EnterAsync(locks, laterLocks, exclusive, cancellationToken).ConfigureAwait(false);
            return scope;
        }
        catch
        {
            await scope.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>What a writer changing the records of one send locks (the idempotency key the send's records share).</summary>
    public static string SendLock(string idempotencyKey) => "send\n" + idempotencyKey;

    /// <summary>What a writer of a message's report, or of a record carrying that message id, locks.</summary>
    public static string MessageLock(string vendor, string messageId) => "message\n" + vendor.ToLowerInvariant() + "\n" + messageId;

    /// <summary>The cell a record counts in and what it adds there; null for an email send (an address for the number).</summary>
    public static (CellKey Key, CellSums Sums)? Contribution(SendRecordEntity r, DeliveryReportEntity? report)
    {
        if (r.Mobile.Contains('@', StringComparison.Ordinal)) return null;
        var deliveryStatus = report?.Status ?? "";
        var code = r.Status == SendRecordStatus.Rejected ? r.VendorCode : deliveryStatus == "Failed" ? report!.Code : null;
        var latency = r.Status == SendRecordStatus.Accepted && report is not null
            ? Math.Max(0, (report.ReceivedAtTicks - r.CreatedAtTicks) / InsightCellEntity.LatencyBucketTicks)
            : -1;
        var key = new CellKey(r.InstanceId ?? "", r.CreatedAtTicks / TimeSpan.TicksPerMinute, r.DefinitionId ?? "", r.ActivityId ?? "", r.Vendor,
            // Queued and Pending are one stage to the page: a batch's start changes no cell.
            r.Status == SendRecordStatus.Pending ? SendRecordStatus.Queued : r.Status, deliveryStatus, code ?? "", latency);
        return (key, new CellSums(1, r.RepliedAtTicks is null ? 0 : 1, r.OptedOut ? 1 : 0, r.Attempts > 1 ? 1 : 0,
            (long)Math.Round((r.Fee ?? 0m) * InsightCellEntity.FeeScale), r.CreatedAtTicks, r.CreatedAtTicks, report?.ReceivedAtTicks ?? 0));
    }

    /// <summary>A copy of the fields a contribution depends on, taken before a change.</summary>
    public static SendRecordEntity Snapshot(SendRecordEntity r) => new()
    {
        Id = r.Id, Vendor = r.Vendor, MessageId = r.MessageId, Mobile = r.Mobile, InstanceId = r.InstanceId, ActivityId = r.ActivityId,
        Status = r.Status, CreatedAtTicks = r.CreatedAtTicks, DefinitionId = r.DefinitionId, VendorCode = r.VendorCode, Fee = r.Fee,
        Attempts = r.Attempts, RepliedAtTicks = r.RepliedAtTicks, OptedOut = r.OptedOut,
    };

    /// <summary>Whether a change to the record can have moved its contribution (its report aside).</summary>
    public static bool Differs(SendRecordEntity before, SendRecordEntity after) =>
        before.Vendor != after.Vendor || before.MessageId != after.MessageId || before.Status != after.Status || before.VendorCode != after.VendorCode
        || before.Fee != after.Fee || (before.Attempts > 1) != (after.Attempts > 1) || before.RepliedAtTicks.HasValue != after.RepliedAtTicks.HasValue
        || before.OptedOut != after.OptedOut;

    /// <summary>The stored reports of these messages, by vendor and message id.</summary>
    public static async Task<Dictionary<(string Vendor, string MessageId), DeliveryReportEntity>> ReportsAsync(
        SmsActivitiesDbContext db, IEnumerable<SendRecordEntity> records, CancellationToken cancellationToken)
    {
        var wanted = records.Where(r => r.MessageId is not null).Select(r => (r.Vendor, MessageId: r.MessageId!)).ToHashSet();
        var found = new Dictionary<(string, string), DeliveryReportEntity>();
        if (wanted.Count == 0) return found;
        // By vendor, so the lookups go through the key (vendor, message id).
        foreach (var byVendor in wanted.GroupBy(w => w.Vendor, StringComparer.Ordinal))
        {
            var vendor = byVendor.Key;
            foreach (var chunk in byVendor.Select(w => w.MessageId).Distinct(StringComparer.Ordinal).Chunk(5000))
            {
                var rows = await db.DeliveryReports.AsNoTracking().Where(d => d.Vendor == vendor && chunk.Contains(d.MessageId)).ToListAsync(cancellationToken).ConfigureAwait(false);
                foreach (var d in rows) found[(d.Vendor, d.MessageId)] = d;
            }
        }
        return found;
    }

    public static DeliveryReportEntity? ReportOf(IReadOnlyDictionary<(string Vendor, string MessageId), DeliveryReportEntity> reports, SendRecordEntity r) =>
        r.MessageId is not null && reports.TryGetValue((r.Vendor, r.MessageId), out var d) ? d : null;
}

/// <summary>
/// A transaction of <see cref="InsightRollup.BeginAsync"/>. Its PostgreSQL locks are transaction-scoped: every writer
/// holds a shared lock on one cluster-wide key, which retention (deleting whole minutes of records and cells) takes
/// exclusively; then one lock per send and per message it touches, taken in ascending key order in one statement.
/// A writer touching more than <see cref="MostKeyLocks"/> of them (a large batch) takes the cluster-wide key
/// exclusively instead, which keeps the server's lock table small at the price of running alone for that commit.
/// </summary>
/// <param name="owned">False: a transaction joined (<see cref="InsightRollup.JoinAsync"/>), which its owner ends.</param>
internal sealed class RollupTransaction(SmsActivitiesDbContext db, IDbContextTransaction transaction, bool postgres, bool owned = true) : IAsyncDisposable
{
    private const long ClusterKey = 0x736d_735f_696e_7369; // "sms_insi"
    private const int MostKeyLocks = 200;

    private readonly HashSet<long> held = [];
    private bool exclusive;

    internal async Task EnterAsync(IEnumerable<string> locks, int laterLocks, bool alone, CancellationToken cancellationToken)
    {
        if (!postgres) return;
        var keys = Keys(locks);
        if (alone || keys.Count + laterLocks > MostKeyLocks)
        {
            exclusive = true;
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({ClusterKey})", cancellationToken).ConfigureAwait(false);
            return;
        }
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock_shared({ClusterKey})", cancellationToken).ConfigureAwait(false);
        await TakeAsync(keys, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Locks what the transaction found it touches once it had read (a record's message id): to be called before it
    /// reads what those locks guard.
    /// </summary>
    public async Task LockAsync(IEnumerable<string> locks, CancellationToken cancellationToken)
    {
        if (!postgres || exclusive) return;
        var keys = Keys(locks);
        keys.ExceptWith(held);
        await TakeAsync(keys, cancellationToken).ConfigureAwait(false);
    }

    private async Task TakeAsync(SortedSet<long> keys, CancellationToken cancellationToken)
    {
        if (keys.Count == 0) return;
        var ordered = keys.ToArray();
        // The array is unnested in its (ascending) order, so two writers wanting overlapping keys queue rather than deadlock.
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(k) FROM unnest({ordered}) WITH ORDINALITY AS t(k, n) ORDER BY n", cancellationToken)
            .ConfigureAwait(false);
        held.UnionWith(ordered);
    }

    /// <summary>A stable 64-bit key per name (the same on every node, unlike <see cref="string.GetHashCode()"/>).</summary>
    private static SortedSet<long> Keys(IEnumerable<string> locks) =>
        new(locks.Select(l => BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(l)), 0)));

    public Task CommitAsync(CancellationToken cancellationToken) =>
        owned ? transaction.CommitAsync(cancellationToken) : throw new InvalidOperationException("a joined transaction is committed by its owner");

    /// <remarks>A joined transaction is only let go of: EF Core neither commits nor disposes one it did not begin.</remarks>
    public ValueTask DisposeAsync() => transaction.DisposeAsync();
}

/// <summary>The key of one cell: <see cref="InsightCellEntity"/>'s primary key.</summary>
internal readonly record struct CellKey(
    string InstanceId, long Minute, string DefinitionId, string ActivityId, string Vendor, string Status, string DeliveryStatus, string Code, long LatencyBucket);

/// <summary>
/// What a cell sums. The time columns are a minimum and maxima: a removal leaves them as they are (a record never
/// leaves its instance and minute, so over a campaign or a time range they stay exact).
/// </summary>
internal readonly record struct CellSums(int Count, int Replies, int OptOuts, int Failovers, long FeeUnits, long FirstTicks, long LastTicks, long LastReportTicks)
{
    public static CellSums operator +(CellSums a, CellSums b) => new(a.Count + b.Count, a.Replies + b.Replies, a.OptOuts + b.OptOuts,
        a.Failovers + b.Failovers, a.FeeUnits + b.FeeUnits, Math.Min(a.FirstTicks, b.FirstTicks), Math.Max(a.LastTicks, b.LastTicks),
        Math.Max(a.LastReportTicks, b.LastReportTicks));

    public CellSums Negated() => new(-Count, -Replies, -OptOuts, -Failovers, -FeeUnits, long.MaxValue, 0, 0);

    public bool IsZero => Count == 0 && Replies == 0 && OptOuts == 0 && Failovers == 0 && FeeUnits == 0;
}

/// <summary>
/// The changes one transaction makes to the cells: records' contributions taken out and put in, summed per cell, then
/// written as one upsert per 200 cells (INSERT … ON CONFLICT DO UPDATE adding the sums, the same SQL on SQLite and
/// PostgreSQL), in a fixed key order.
/// </summary>
internal sealed class InsightDelta
{
    private static readonly string[] KeyColumns =
        [nameof(InsightCellEntity.InstanceId), nameof(InsightCellEntity.Minute), nameof(InsightCellEntity.DefinitionId), nameof(InsightCellEntity.ActivityId),
         nameof(InsightCellEntity.Vendor), nameof(InsightCellEntity.Status), nameof(InsightCellEntity.DeliveryStatus), nameof(InsightCellEntity.Code),
         nameof(InsightCellEntity.LatencyBucket)];

    private static readonly string[] SumColumns =
        [nameof(InsightCellEntity.Count), nameof(InsightCellEntity.Replies), nameof(InsightCellEntity.OptOuts), nameof(InsightCellEntity.Failovers),
         nameof(InsightCellEntity.FeeUnits)];

    private static readonly string[] MinColumns = [nameof(InsightCellEntity.FirstTicks)];
    private static readonly string[] MaxColumns = [nameof(InsightCellEntity.LastTicks), nameof(InsightCellEntity.LastReportTicks)];

    private readonly Dictionary<CellKey, CellSums> cells = [];

    public void Add(SendRecordEntity record, DeliveryReportEntity? report)
    {
        if (InsightRollup.Contribution(record, report) is { } c) Merge(c.Key, c.Sums);
    }

    public void Remove(SendRecordEntity record, DeliveryReportEntity? report)
    {
        if (InsightRollup.Contribution(record, report) is { } c) Merge(c.Key, c.Sums.Negated());
    }

    private void Merge(CellKey key, CellSums sums) => cells[key] = cells.TryGetValue(key, out var sum) ? sum + sums : sums;

    /// <summary>Writes the changed cells now, inside the context's transaction.</summary>
    public async Task ApplyAsync(SmsActivitiesDbContext db, CancellationToken cancellationToken)
    {
        await using var batch = new SqlBatch(db);
        await AppendAsync(batch, db, cancellationToken).ConfigureAwait(false);
        await batch.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds the changed cells' upserts to <paramref name="batch"/>, sent with the transaction's other writes.</summary>
    public async Task AppendAsync(SqlBatch batch, SmsActivitiesDbContext db, CancellationToken cancellationToken)
    {
        // A cell only records were taken out of, summing to nothing, needs no write; one a record went into may need
        // its times widened even when the sums cancel out.
        var changed = cells.Where(c => !c.Value.IsZero || c.Value.FirstTicks != long.MaxValue).ToArray();
        if (changed.Length == 0) return;
        var map = StoreMap.For<InsightCellEntity>(db);
        var postgres = DatabaseEngine.IsPostgres(db.Database);
        var columns = KeyColumns.Concat(SumColumns).Concat(MinColumns).Concat(MaxColumns).ToArray();
        var updates = SumColumns.Select(c => $"{map.Column(c)} = c.{map.Column(c)} + excluded.{map.Column(c)}")
            .Concat(MinColumns.Select(c => $"{map.Column(c)} = {(postgres ? "LEAST" : "MIN")}(c.{map.Column(c)}, excluded.{map.Column(c)})"))
            .Concat(MaxColumns.Select(c => $"{map.Column(c)} = {(postgres ? "GREATEST" : "MAX")}(c.{map.Column(c)}, excluded.{map.Column(c)})"));
        var head = $"INSERT INTO {map.Table} AS c ({string.Join(", ", columns.Select(map.Column))}) VALUES ";
        var tail = $" ON CONFLICT ({string.Join(", ", KeyColumns.Select(map.Column))}) DO UPDATE SET {string.Join(", ", updates)}";
        var ordered = changed.OrderBy(c => c.Key.InstanceId, StringComparer.Ordinal).ThenBy(c => c.Key.Minute)
            .ThenBy(c => c.Key.DefinitionId, StringComparer.Ordinal).ThenBy(c => c.Key.ActivityId, StringComparer.Ordinal)
            .ThenBy(c => c.Key.Vendor, StringComparer.Ordinal).ThenBy(c => c.Key.Status, StringComparer.Ordinal)
            .ThenBy(c => c.Key.DeliveryStatus, StringComparer.Ordinal).ThenBy(c => c.Key.Code, StringComparer.Ordinal).ThenBy(c => c.Key.LatencyBucket);
        var rows = ordered.Select(c => (object?[])
        [
            .. KeyValues(c.Key),
            c.Value.Count, c.Value.Replies, c.Value.OptOuts, c.Value.Failovers, c.Value.FeeUnits, c.Value.FirstTicks, c.Value.LastTicks, c.Value.LastReportTicks,
        ]).ToArray();
        await batch.RowsAsync(map, head, columns, rows, tail, cancellationToken).ConfigureAwait(false);
        await DeleteEmptiedAsync(batch, map, ordered.Where(c => c.Value.FirstTicks == long.MaxValue), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A cell's key as the values of <see cref="KeyColumns"/>, in that order.</summary>
    private static object?[] KeyValues(CellKey key) =>
        [key.InstanceId, key.Minute, key.DefinitionId, key.ActivityId, key.Vendor, key.Status, key.DeliveryStatus, key.Code, key.LatencyBucket];

    /// <summary>
    /// Deletes those of <paramref name="drained"/> (cells records were only taken out of) whose sums are all zero now.
    /// Kept, they would be a row per send left for nothing: every send's Queued cell empties when the send settles.
    /// Inside the writer's transaction, after its upserts: a writer adding to the cell meanwhile either comes first (the
    /// sums are not zero) or re-inserts it.
    /// </summary>
    private static Task<int> DeleteEmptiedAsync(SqlBatch batch, StoreMap map, IEnumerable<KeyValuePair<CellKey, CellSums>> drained, CancellationToken cancellationToken)
    {
        var rows = drained.Select(c => KeyValues(c.Key)).ToArray();
        if (rows.Length == 0) return Task.FromResult(0);
        var empty = string.Join(" AND ", SumColumns.Select(c => $"c.{map.Column(c)} = 0"));
        // The VALUES columns are named column1, column2… (the key columns in order) by SQLite and PostgreSQL alike.
        var head = $"DELETE FROM {map.Table} AS c USING (VALUES ";
        var tail = $") AS v WHERE {string.Join(" AND ", KeyColumns.Select((k, i) => $"c.{map.Column(k)} = v.column{i + 1}"))} AND {empty}";
        var sqliteRow = $"DELETE FROM {map.Table} AS c WHERE {string.Join(" AND ", KeyColumns.Select((k, i) => $"c.{map.Column(k)} = {SqlitePreparedCommand.Placeholder(i)}"))} AND {empty}";
        return batch.RowsAsync(map, head, KeyColumns, rows, tail, cancellationToken, sqliteRow);
    }
}
