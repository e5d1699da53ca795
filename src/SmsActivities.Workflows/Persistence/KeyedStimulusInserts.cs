using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Inserts stimulus rows that carry a dedupe key with <c>INSERT … ON CONFLICT ("DedupeKey") DO NOTHING RETURNING</c>
/// (the same SQL on SQLite and PostgreSQL), inside the caller's transaction. Two nodes, or two concurrent writers,
/// recording the same event is an expected race: the unique key decides it without an error (EF logs every failed
/// SaveChanges as an error and PostgreSQL aborts the whole transaction). On PostgreSQL a conflicting insert that is not
/// committed yet makes this one wait for it: the row is then taken as a duplicate if it committed, inserted if not.
/// </summary>
internal static class KeyedStimulusInserts
{
    // Eleven columns a row: well under PostgreSQL's parameter limit (fewer on SQLite, see DatabaseSettings.RowsPerStatement).
    private const int RowsPerStatement = 200;

    /// <returns>The ids of the rows inserted; a row whose key was already taken is not among them.</returns>
    public static async Task<HashSet<string>> InsertNewAsync(DbContext context, IReadOnlyList<StimulusRow> rows, CancellationToken cancellationToken)
    {
        var inserted = new HashSet<string>(StringComparer.Ordinal);
        if (rows.Count == 0) return inserted;
        var (table, column) = RowStatements.Names<StimulusRow>(context);
        var properties = Columns;
        var head = $"INSERT INTO {table} ({string.Join(", ", properties.Select(column))}) VALUES ";
        var tail = $" ON CONFLICT ({column(nameof(StimulusRow.DedupeKey))}) DO NOTHING RETURNING {column(nameof(StimulusRow.Id))} AS \"Value\"";
        if (DatabaseEngine.IsSqlite(context.Database) && context.Database.CurrentTransaction is { } transaction)
        {
            // One row a run of one prepared statement (SqlitePreparedCommand); SQLite has one writer, so no order to keep.
            await using var insert = new SqlitePreparedCommand(transaction.GetDbTransaction(), head + SqlitePreparedCommand.ValuesRow(properties.Length) + tail, properties.Length);
            foreach (var row in rows)
                if (await insert.ScalarAsync(Fields(row), cancellationToken) is string id) inserted.Add(id);
            return inserted;
        }
        // In key order, so two transactions inserting the same keys wait for each other instead of deadlocking.
        foreach (var chunk in rows.OrderBy(r => r.DedupeKey, StringComparer.Ordinal).Chunk(DatabaseSettings.RowsPerStatement(context.Database, properties.Length, RowsPerStatement)))
        {
            var parameters = new List<object?>(chunk.Length * properties.Length);
            var values = new List<string>(chunk.Length);
            foreach (var row in chunk)
            {
                var fields = Fields(row);
                values.Add("(" + string.Join(", ", fields.Select((_, i) => "{" + (parameters.Count + i) + "}")) + ")");
                parameters.AddRange(fields);
            }
            // Only identifiers from the model and {n} placeholders are concatenated; every value is a parameter.
#pragma warning disable EF1003
            var ids = await context.Database.SqlQueryRaw<string>(head + string.Join(", ", values) + tail, parameters.ToArray()!).ToListAsync(cancellationToken);
#pragma warning restore EF1003
            inserted.UnionWith(ids);
        }
        return inserted;
    }

    /// <summary>A stimulus row's columns, in the order of <see cref="Fields"/>.</summary>
    public static readonly string[] Columns =
    [
        nameof(StimulusRow.Id), nameof(StimulusRow.Name), nameof(StimulusRow.Hash), nameof(StimulusRow.PayloadJson), nameof(StimulusRow.InputJson),
        nameof(StimulusRow.CorrelationId), nameof(StimulusRow.DedupeKey), nameof(StimulusRow.Status), nameof(StimulusRow.ReceivedAt), nameof(StimulusRow.ExpiresAt),
        nameof(StimulusRow.InstanceId),
    ];

    /// <summary>A stimulus row's values, in the order of <see cref="Columns"/>.</summary>
    public static object?[] Fields(StimulusRow row) =>
        [row.Id, row.Name, row.Hash, row.PayloadJson, row.InputJson, row.CorrelationId, row.DedupeKey, (int)row.Status, row.ReceivedAt, row.ExpiresAt, row.InstanceId];
}
