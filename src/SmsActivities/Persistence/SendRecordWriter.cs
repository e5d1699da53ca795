using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using SmsActivities.Routing;

namespace SmsActivities.Persistence;

/// <summary>
/// The send records' hot writes without change tracking: a campaign begins with one record per recipient and settles
/// them batch by batch, and tracking 20,000 entities (or loading them back to update) cost more than the vendor calls.
/// Rows go in as multi-row INSERTs whose per-send values are shared parameters (one parameter per row, the mobile);
/// settling is one UPDATE by primary key joined to a VALUES list of the answers, inside the caller's transaction. Table, column names
/// and parameter types come from the EF model, so the same SQL serves SQLite and PostgreSQL.
/// </summary>
internal static class SendRecordWriter
{
    /// <summary>Rows per statement: far below every provider's parameter limit (an INSERT takes one parameter a row, a settle nine).</summary>
    private const int RowsPerStatement = 500;

    /// <summary>The fields every record of one send shares when it is begun.</summary>
    public sealed record Begun(string Vendor, string InstanceId, string ActivityId, string IdempotencyKey, string Status, long CreatedAtTicks, string? DefinitionId);

    public static async Task InsertAsync(SmsActivitiesDbContext db, Begun shared, IReadOnlyList<string> mobiles, CancellationToken cancellationToken)
    {
        var map = StoreMap.For<SendRecordEntity>(db);
        var constant = new (string Property, object? Value)[]
        {
            (nameof(SendRecordEntity.Vendor), shared.Vendor),
            (nameof(SendRecordEntity.InstanceId), shared.InstanceId),
            (nameof(SendRecordEntity.ActivityId), shared.ActivityId),
            (nameof(SendRecordEntity.IdempotencyKey), shared.IdempotencyKey),
            (nameof(SendRecordEntity.Accepted), false),
            (nameof(SendRecordEntity.Status), shared.Status),
            (nameof(SendRecordEntity.CreatedAtTicks), shared.CreatedAtTicks),
            (nameof(SendRecordEntity.DefinitionId), shared.DefinitionId),
            (nameof(SendRecordEntity.Attempts), 0),
            (nameof(SendRecordEntity.OptedOut), false),
        };
        var columns = string.Join(", ", constant.Select(c => map.Column(c.Property)).Append(map.Column(nameof(SendRecordEntity.Mobile))));
        var row = string.Join(", ", constant.Select((_, i) => "@c" + i.ToString(CultureInfo.InvariantCulture)));
        var connection = db.Database.GetDbConnection();
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        foreach (var chunk in mobiles.Chunk(RowsPerStatement))
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            for (var i = 0; i < constant.Length; i++) command.Parameters.Add(map.Parameter(command, constant[i].Property, "@c" + i.ToString(CultureInfo.InvariantCulture), constant[i].Value));
            var sql = new StringBuilder(64 + chunk.Length * (row.Length + 12)).Append("INSERT INTO ").Append(map.Table).Append(" (").Append(columns).Append(") VALUES ");
            for (var i = 0; i < chunk.Length; i++)
            {
                var name = "@m" + i.ToString(CultureInfo.InvariantCulture);
                if (i > 0) sql.Append(", ");
                sql.Append('(').Append(row).Append(", ").Append(name).Append(')');
                command.Parameters.Add(map.Parameter(command, nameof(SendRecordEntity.Mobile), name, chunk[i]));
            }
            command.CommandText = sql.ToString();
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes each outcome into the record of its mobile (<paramref name="ids"/>: record id by mobile) unless that record
    /// is already settled; outcomes without a record are skipped. By primary key: a campaign's thousands of records share
    /// one idempotency key, so finding a batch's records by key and mobile would read them all for every batch. One
    /// <c>UPDATE … FROM (VALUES …)</c> per chunk of rows, so a batch of hundreds is one statement, not hundreds; the
    /// statements go into <paramref name="batch"/>, sent with the transaction's other writes.
    /// </summary>
    public static async Task SettleAsync(SqlBatch batch, SmsActivitiesDbContext db, IReadOnlyDictionary<string, long> ids, IReadOnlyList<SmsRecipientOutcome> outcomes,
        CancellationToken cancellationToken)
    {
        var map = StoreMap.For<SendRecordEntity>(db);
        string[] set =
        [
            nameof(SendRecordEntity.Vendor), nameof(SendRecordEntity.MessageId), nameof(SendRecordEntity.Accepted), nameof(SendRecordEntity.Status),
            nameof(SendRecordEntity.Error), nameof(SendRecordEntity.VendorCode), nameof(SendRecordEntity.Fee), nameof(SendRecordEntity.Attempts),
        ];
        var rows = new List<(long Id, SmsRecipientOutcome Outcome)>(outcomes.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var outcome in outcomes)
        {
            // The first outcome of a mobile is its answer (a number listed twice was sent once).
            if (ids.TryGetValue(outcome.Mobile, out var rowId) && seen.Add(outcome.Mobile)) rows.Add((rowId, outcome));
        }
        // The VALUES columns are named column1 (the id), column2… (the values in the order of set) by SQLite and PostgreSQL alike.
        static string Value(int i) => "v.column" + (i + 2).ToString(CultureInfo.InvariantCulture);
        // A vendor that named none keeps the planned one.
        var assignments = set.Select((p, i) => i == 0 ? $"{map.Column(p)} = COALESCE({Value(i)}, {map.Column(p)})" : $"{map.Column(p)} = {Value(i)}");
        // A record already answered keeps its answer (a replayed outcome carries less than the vendor's answer did).
        var status = map.Column(nameof(SendRecordEntity.Status));
        var head = $"UPDATE {map.Table} SET {string.Join(", ", assignments)} FROM (VALUES ";
        var tail = $") AS v WHERE {map.Column(nameof(SendRecordEntity.Id))} = v.column1 AND {status} <> ";
        foreach (var chunk in rows.Chunk(RowsPerStatement))
        {
            var sql = batch.Sql.Append(head);
            for (var r = 0; r < chunk.Length; r++)
            {
                var (rowId, outcome) = chunk[r];
                object?[] values =
                [
                    outcome.Vendor, outcome.MessageId, outcome.Accepted,
                    outcome.Accepted ? SendRecordStatus.Accepted : outcome.InDoubt ? SendRecordStatus.InDoubt : SendRecordStatus.Rejected,
                    outcome.Error, outcome.VendorCode, outcome.Fee, outcome.Attempts,
                ];
                sql.Append(r == 0 ? "(" : ", (").Append(batch.Parameter(map, nameof(SendRecordEntity.Id), rowId));
                for (var i = 0; i < set.Length; i++) sql.Append(", ").Append(batch.Parameter(map, set[i], values[i]));
                sql.Append(')');
            }
            sql.Append(tail).Append(batch.Parameter(map, nameof(SendRecordEntity.Status), SendRecordStatus.Accepted))
                .Append(" AND ").Append(status).Append(" <> ").Append(batch.Parameter(map, nameof(SendRecordEntity.Status), SendRecordStatus.Rejected));
            await batch.EndStatementAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
