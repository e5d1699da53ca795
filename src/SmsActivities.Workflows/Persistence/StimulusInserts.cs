using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Writes accepted stimuli and their deliveries inside the caller's open transaction. On SQLite, where the write lock
/// is held for the whole transaction and every other writer waits for it, the rows go through one prepared INSERT per
/// table (bound and stepped per row, no change tracking): a push of a few hundred reports spends its write turn on
/// the rows, not on building them. PostgreSQL keeps EF's batched inserts, which already send one round trip.
/// </summary>
internal static class StimulusInserts
{
    /// <exception cref="DbUpdateException">A unique key (a stimulus's dedupe key) was taken.</exception>
    public static async Task InsertAsync(WorkflowDbContext context, IReadOnlyList<StimulusRow> stimuli, IReadOnlyList<DeliveryRow> deliveries, CancellationToken cancellationToken)
    {
        if (context.Database.ProviderName != DatabaseSettings.SqliteProviderName || context.Database.CurrentTransaction is not { } transaction)
        {
            context.Stimuli.AddRange(stimuli);
            context.Deliveries.AddRange(deliveries);
            await context.SaveChangesAsync(cancellationToken);
            return;
        }
        var connection = (SqliteConnection)context.Database.GetDbConnection();
        var tx = (SqliteTransaction)transaction.GetDbTransaction();
        try
        {
            await InsertAsync(connection, tx, """
                INSERT INTO "Stimuli" ("Id", "Name", "Hash", "PayloadJson", "InputJson", "CorrelationId", "DedupeKey", "Status", "ReceivedAt", "ExpiresAt")
                VALUES ($0, $1, $2, $3, $4, $5, $6, $7, $8, $9)
                """, stimuli, s => [s.Id, s.Name, s.Hash, s.PayloadJson, s.InputJson, s.CorrelationId, s.DedupeKey, (int)s.Status, s.ReceivedAt, s.ExpiresAt],
                cancellationToken);
            await InsertAsync(connection, tx, """
                INSERT INTO "StimulusDeliveries" ("Id", "StimulusId", "Kind", "BookmarkId", "InstanceId", "DefinitionVersionId", "TriggerActivityId", "CreatedAt", "NextAttemptAt", "Attempts")
                VALUES ($0, $1, $2, $3, $4, $5, $6, $7, $8, $9)
                """, deliveries, d => [d.Id, d.StimulusId, (int)d.Kind, d.BookmarkId, d.InstanceId, d.DefinitionVersionId, d.TriggerActivityId, d.CreatedAt, d.NextAttemptAt, d.Attempts],
                cancellationToken);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19) // SQLITE_CONSTRAINT
        {
            throw new DbUpdateException("A stimulus's unique key was taken by a concurrent write.", e);
        }
    }

    private static async Task InsertAsync<T>(SqliteConnection connection, SqliteTransaction tx, string sql, IReadOnlyList<T> rows, Func<T, object?[]> values,
        CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        var first = values(rows[0]);
        for (var i = 0; i < first.Length; i++) command.Parameters.Add(new SqliteParameter("$" + i, null));
        command.Prepare();
        foreach (var row in rows)
        {
            var v = values(row);
            for (var i = 0; i < v.Length; i++) command.Parameters[i].Value = v[i] ?? DBNull.Value;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
