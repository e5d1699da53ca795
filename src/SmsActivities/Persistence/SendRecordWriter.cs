using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using SmsActivities.Routing;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// The send records' hot writes without change tracking: a campaign begins with one record per recipient and settles
/// them batch by batch, and tracking 20,000 entities (or loading them back to update) cost more than the vendor calls.
/// Rows are written inside the caller's transaction: a send's records with one <c>INSERT</c> (its mobiles read from a
/// JSON array on SQLite, multi-row <c>VALUES</c> through <see cref="SqlBatch.RowsAsync"/> elsewhere), and a settle as an
/// <c>UPDATE</c> by primary key (joined to a <c>VALUES</c> list of the answers on PostgreSQL, one prepared
/// <c>UPDATE … WHERE</c> a row on SQLite). Table, column names and parameter types come from the EF model.
/// </summary>
internal static class SendRecordWriter
{
    /// <summary>The fields every record of one send shares when it is begun.</summary>
    public sealed record Begun(string Vendor, string InstanceId, string ActivityId, string IdempotencyKey, string Status, long CreatedAtTicks, string? DefinitionId);

    private static readonly string[] Inserted =
    [
        nameof(SendRecordEntity.Vendor), nameof(SendRecordEntity.InstanceId), nameof(SendRecordEntity.ActivityId), nameof(SendRecordEntity.IdempotencyKey),
        nameof(SendRecordEntity.Accepted), nameof(SendRecordEntity.Status), nameof(SendRecordEntity.CreatedAtTicks), nameof(SendRecordEntity.DefinitionId),
        nameof(SendRecordEntity.Attempts), nameof(SendRecordEntity.OptedOut), nameof(SendRecordEntity.Mobile),
    ];

    /// <summary>The fields a settle writes, after the record's id.</summary>
    private static readonly string[] Settled =
    [
        nameof(SendRecordEntity.Vendor), nameof(SendRecordEntity.MessageId), nameof(SendRecordEntity.Accepted), nameof(SendRecordEntity.Status),
        nameof(SendRecordEntity.Error), nameof(SendRecordEntity.VendorCode), nameof(SendRecordEntity.Fee), nameof(SendRecordEntity.Attempts),
    ];

    /// <summary>
    /// One record per mobile of a send begun (<paramref name="shared"/>): on SQLite inside the context's transaction at
    /// once, elsewhere written by <paramref name="batch"/>.
    /// </summary>
    /// <returns>
    /// With <paramref name="tellIds"/>, the id of the first mobile's record when the ids are known to follow the
    /// mobiles' order one by one (<paramref name="mobiles"/>[i]'s record is that id + i), so a campaign need not read its
    /// 20,000 ids back; null when not asked or not known (other databases: the caller reads them).
    /// </returns>
    public static async Task<long?> InsertAsync(SqlBatch batch, SmsActivitiesDbContext db, Begun shared, IReadOnlyList<string> mobiles, bool tellIds,
        CancellationToken cancellationToken)
    {
        var map = StoreMap.For<SendRecordEntity>(db);
        if (DatabaseEngine.IsSqlite(db.Database) && db.Database.CurrentTransaction is { } transaction)
            return await InsertFromJsonAsync(transaction.GetDbTransaction(), map, shared, mobiles, tellIds, cancellationToken).ConfigureAwait(false);
        var common = CommonValues(shared);
        var rows = mobiles.Select(mobile => (object?[])[.. common, mobile]).ToArray();
        await batch.RowsAsync(map, $"INSERT INTO {map.Table} ({string.Join(", ", Inserted.Select(map.Column))}) VALUES ", Inserted, rows, "", cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// SQLite: all the records of a send in one statement, their mobiles read by SQLite from one JSON array and every
    /// other column bound once. Row by row, binding eleven values and stepping a statement for each of a campaign's
    /// 20,000 recipients took half a second before its first vendor call.
    /// </summary>
    /// <returns>With <paramref name="tellIds"/>, the first record's id when the ids are proven consecutive in the mobiles' order (see <see cref="InsertAsync"/>).</returns>
    private static async Task<long?> InsertFromJsonAsync(DbTransaction transaction, StoreMap map, Begun shared, IReadOnlyList<string> mobiles, bool tellIds,
        CancellationToken cancellationToken)
    {
        var common = CommonValues(shared);
        var placeholders = common.Select((_, i) => SqlitePreparedCommand.Placeholder(i));
        var sql = $"INSERT INTO {map.Table} ({string.Join(", ", Inserted.Select(map.Column))}) SELECT {string.Join(", ", placeholders)}, m.value"
                  + $" FROM json_each({SqlitePreparedCommand.Placeholder(common.Length)}) AS m ORDER BY m.key";
        int inserted;
        await using (var insert = new SqlitePreparedCommand(transaction, sql, common.Length + 1))
        {
            var values = common.Select((v, i) => map.ProviderValue(Inserted[i], v)).Append(JsonSerializer.Serialize(mobiles, SendRecordJson.Default.IReadOnlyListString)).ToArray();
            inserted = await insert.ExecuteAsync(values, cancellationToken).ConfigureAwait(false);
        }
        if (!tellIds || inserted != mobiles.Count) return null;
        // SQLite gives each new row an id above every id in the table (above every id it ever had: the key is
        // AUTOINCREMENT), so within this one statement the ids rise in the order the rows went in, the array's. The send's
        // key is new (a send with records is resumed, not begun), so when its records' ids span exactly as many values as
        // there are records, they are consecutive from the smallest; else (ids exhausted and picked at random) they are read.
        await using var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        var id = map.Column(nameof(SendRecordEntity.Id));
        command.CommandText = $"SELECT min({id}), max({id}), count(*) FROM {map.Table} WHERE {map.Column(nameof(SendRecordEntity.IdempotencyKey))} = $key";
        command.Parameters.Add(map.Parameter(command, nameof(SendRecordEntity.IdempotencyKey), "$key", shared.IdempotencyKey));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || reader.IsDBNull(0)) return null;
        var (first, last, count) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        return count == mobiles.Count && last - first + 1 == count ? first : null;
    }

    /// <summary>The values of <see cref="Inserted"/> but the last (the mobile) that every record of a send begun shares.</summary>
    private static object?[] CommonValues(Begun shared) =>
        [shared.Vendor, shared.InstanceId, shared.ActivityId, shared.IdempotencyKey, false, shared.Status, shared.CreatedAtTicks, shared.DefinitionId, 0, false];

    /// <summary>
    /// Writes each outcome into the record of its mobile (<paramref name="records"/>: the record settled for each mobile,
    /// as read in this transaction) unless that record is already settled; outcomes without a record are skipped. By
    /// primary key: a campaign's thousands of records share one idempotency key, so finding a batch's records by key and
    /// mobile would read them all for every batch. The statements go into <paramref name="batch"/>, sent with the
    /// transaction's other writes.
    /// </summary>
    /// <param name="onlyPending">
    /// Writes only records still <see cref="SendRecordStatus.Pending"/> (instead of any not yet answered): for records
    /// whose state the caller assumed rather than read, so that a record changed since shows in the count returned.
    /// </param>
    /// <returns>How many records the statements changed and how many they were meant to (the former -1 where not told: see <see cref="SqlBatch.RowsAsync"/>).</returns>
    public static async Task<(int Changed, int Meant)> SettleAsync(SqlBatch batch, SmsActivitiesDbContext db, IReadOnlyDictionary<string, SendRecordEntity> records,
        IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken, bool onlyPending = false)
    {
        var map = StoreMap.For<SendRecordEntity>(db);
        var (movedVendor, keptVendor) = (new List<object?[]>(), new List<object?[]>(outcomes.Count));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var outcome in outcomes)
        {
            // The first outcome of a mobile is its answer (a number listed twice was sent once).
            if (!records.TryGetValue(outcome.Mobile, out var record) || !seen.Add(outcome.Mobile)) continue;
            var status = outcome.Accepted ? SendRecordStatus.Accepted : outcome.InDoubt ? SendRecordStatus.InDoubt : SendRecordStatus.Rejected;
            object?[] rest = [outcome.MessageId, outcome.Accepted, status, outcome.Error, outcome.VendorCode, outcome.Fee, outcome.Attempts];
            // Usually the vendor answering is the one the record names already (planned, or begun by a failover): left
            // out of the SET, SQLite leaves alone the two indexes that hold it (settles of 200 took 15-25 % less in a
            // standalone SQLite experiment).
            // A vendor that named none keeps the record's too.
            if (outcome.Vendor is null || outcome.Vendor == record.Vendor) keptVendor.Add([record.Id, .. rest]);
            else movedVendor.Add([record.Id, outcome.Vendor, .. rest]);
        }
        var moved = await UpdateAsync(batch, map, Settled, movedVendor, onlyPending, cancellationToken).ConfigureAwait(false);
        var kept = await UpdateAsync(batch, map, Settled[1..], keptVendor, onlyPending, cancellationToken).ConfigureAwait(false);
        return (moved < 0 || kept < 0 ? -1 : moved + kept, movedVendor.Count + keptVendor.Count);
    }

    /// <summary>
    /// One <c>UPDATE</c> by record id of the <paramref name="columns"/> (each row: the id, then their values), skipping a
    /// record already answered (with <paramref name="onlyPending"/>, any record not Pending).
    /// </summary>
    private static Task<int> UpdateAsync(SqlBatch batch, StoreMap map, string[] columns, IReadOnlyCollection<object?[]> rows, bool onlyPending, CancellationToken cancellationToken)
    {
        // The VALUES columns are named column1 (the id), column2… (the values in the order of columns) by SQLite and PostgreSQL alike.
        static string Value(int i) => "v.column" + (i + 2).ToString(CultureInfo.InvariantCulture);
        IEnumerable<string> Assignments(Func<int, string> value) => columns.Select((p, i) => $"{map.Column(p)} = {value(i)}");
        // A record already answered keeps its answer (a replayed outcome carries less than the vendor's answer did).
        var status = map.Column(nameof(SendRecordEntity.Status));
        var id = map.Column(nameof(SendRecordEntity.Id));
        var unanswered = onlyPending
            ? $" AND {status} = {map.Literal(nameof(SendRecordEntity.Status), SendRecordStatus.Pending)}"
            : $" AND {status} <> {map.Literal(nameof(SendRecordEntity.Status), SendRecordStatus.Accepted)}"
              + $" AND {status} <> {map.Literal(nameof(SendRecordEntity.Status), SendRecordStatus.Rejected)}";
        var head = $"UPDATE {map.Table} SET {string.Join(", ", Assignments(Value))} FROM (VALUES ";
        var tail = $") AS v WHERE {id} = v.column1{unanswered}";
        var sqliteRow = $"UPDATE {map.Table} SET {string.Join(", ", Assignments(i => SqlitePreparedCommand.Placeholder(i + 1)))} WHERE {id} = $p0{unanswered}";
        return batch.RowsAsync(map, head, [nameof(SendRecordEntity.Id), .. columns], rows, tail, cancellationToken, sqliteRow);
    }
}

/// <summary>The JSON of the send records' bulk statements (source-generated: no reflection on the hot path).</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class SendRecordJson : JsonSerializerContext;
