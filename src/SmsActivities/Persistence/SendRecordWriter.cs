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
        // The table's key is AUTOINCREMENT: every new id is larger than any the table ever had, so the ids rise in the
        // order the rows go in, which is the array's (ORDER BY m.key). Above the largest ever (the sequence, or the
        // largest id if larger) and ending at the last id inserted, N new ids that span exactly N values are consecutive.
        var (table, id) = (map.Table, map.Column(nameof(SendRecordEntity.Id)));
        var before = !tellIds ? 0 : await ScalarAsync(transaction,
            $"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{map.TableName.Replace("'", "''", StringComparison.Ordinal)}'), 0), coalesce((SELECT max({id}) FROM {table}), 0))", cancellationToken)
            .ConfigureAwait(false);
        var sql = $"INSERT INTO {table} ({string.Join(", ", Inserted.Select(map.Column))}) SELECT {string.Join(", ", placeholders)}, m.value"
                  + $" FROM json_each({SqlitePreparedCommand.Placeholder(common.Length)}) AS m ORDER BY m.key";
        int inserted;
        await using (var insert = new SqlitePreparedCommand(transaction, sql, common.Length + 1))
        {
            var values = common.Select((v, i) => map.ProviderValue(Inserted[i], v)).Append(JsonSerializer.Serialize(mobiles, SendRecordJson.Default.IReadOnlyListString)).ToArray();
            inserted = await insert.ExecuteAsync(values, cancellationToken).ConfigureAwait(false);
        }
        if (!tellIds) return null;
        var last = await ScalarAsync(transaction, "SELECT last_insert_rowid()", cancellationToken).ConfigureAwait(false);
        return inserted == mobiles.Count && last - before == mobiles.Count ? before + 1 : null;
    }

    private static async Task<long> ScalarAsync(DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = transaction.Connection!.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
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
    public static async Task SettleAsync(SqlBatch batch, SmsActivitiesDbContext db, IReadOnlyDictionary<string, SendRecordEntity> records, IReadOnlyList<SmsRecipientOutcome> outcomes,
        CancellationToken cancellationToken)
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
        await UpdateAsync(batch, map, Settled, movedVendor, cancellationToken).ConfigureAwait(false);
        await UpdateAsync(batch, map, Settled[1..], keptVendor, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One <c>UPDATE</c> by record id of the <paramref name="columns"/> (each row: the id, then their values), skipping a record already answered.</summary>
    private static Task UpdateAsync(SqlBatch batch, StoreMap map, string[] columns, IReadOnlyCollection<object?[]> rows, CancellationToken cancellationToken)
    {
        // The VALUES columns are named column1 (the id), column2… (the values in the order of columns) by SQLite and PostgreSQL alike.
        static string Value(int i) => "v.column" + (i + 2).ToString(CultureInfo.InvariantCulture);
        IEnumerable<string> Assignments(Func<int, string> value) => columns.Select((p, i) => $"{map.Column(p)} = {value(i)}");
        // A record already answered keeps its answer (a replayed outcome carries less than the vendor's answer did).
        var status = map.Column(nameof(SendRecordEntity.Status));
        var id = map.Column(nameof(SendRecordEntity.Id));
        var unanswered = $" AND {status} <> {map.Literal(nameof(SendRecordEntity.Status), SendRecordStatus.Accepted)}"
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
