using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// Statements sent as one command inside the context's transaction: a transaction's writes (a settle, the insights
/// cells it moves, the outputs kept) reach the database in one round trip rather than one each. Each statement names
/// its parameters through <see cref="Parameter"/>, so they never clash; a batch grown past
/// <see cref="mostParameters"/> is sent as it stands when its statement ends, and a new one begun. On SQLite, which
/// has no round trip to save, each statement is sent alone (see <see cref="mostParameters"/>), and many rows of one
/// shape go through <see cref="RowsAsync"/> as one prepared statement run once a row.
/// </summary>
internal sealed class SqlBatch(DbContext db) : IAsyncDisposable
{
    /// <summary>Rows a multi-row statement carries at most (PostgreSQL): far below its parameter limit.</summary>
    private const int MostRows = 500;

    private readonly Dictionary<string, SqlitePreparedCommand> prepared = new(StringComparer.Ordinal);

    /// <summary>
    /// Parameters per command: far below every provider's limit. On SQLite every statement goes alone: its driver binds
    /// each of a command's parameters by name to each of its statements, and SQLite finds a name by a linear search of
    /// the statement's names, so a command of many statements and thousands of parameters costs their product in string
    /// compares (seen as the largest CPU cost of ingesting delivery reports).
    /// </summary>
    private readonly int mostParameters = DatabaseEngine.IsSqlite(db.Database) ? 0 : 10_000;

    private readonly StringBuilder sql = new();
    private DbCommand command = Create(db);
    private int next;

    /// <summary>A parameter of the statement being written, typed as <paramref name="property"/>'s column; its name, to go in the SQL.</summary>
    private string Parameter(StoreMap map, string property, object? value)
    {
        var name = "@b" + (next++).ToString(CultureInfo.InvariantCulture);
        command.Parameters.Add(map.Parameter(command, property, name, value));
        return name;
    }

    private async ValueTask EndStatementAsync(CancellationToken cancellationToken)
    {
        sql.Append(";\n");
        if (command.Parameters.Count >= mostParameters) await ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends the statements written so far (nothing when there are none).</summary>
    public async Task ExecuteAsync(CancellationToken cancellationToken)
    {
        if (sql.Length == 0) return;
        command.CommandText = sql.ToString();
        // Opened for the command when no transaction holds it open (a context used after SaveChanges, which closes it).
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
        await command.DisposeAsync().ConfigureAwait(false);
        command = Create(db);
        sql.Clear();
    }

    /// <summary>
    /// Writes <paramref name="rows"/> (each a value per property of <paramref name="properties"/>, in that order) as
    /// <paramref name="head"/>, a <c>VALUES</c> row each, then <paramref name="tail"/> (which names no parameter):
    /// an <c>INSERT … VALUES</c>, an upsert, or an <c>UPDATE … FROM (VALUES …) AS v</c>. On PostgreSQL, multi-row
    /// statements in this batch. On SQLite, one statement of one row, prepared once in this batch and run again for each
    /// row: a settle of a campaign's 200 recipients as one statement of 1,800 parameters spent most of the campaign's
    /// CPU binding them by name, and as 19 statements of 11 rows most of the rest preparing them.
    /// </summary>
    /// <returns>On SQLite, the rows the statements changed (they ran at once); elsewhere -1 (they run with the batch).</returns>
    /// <param name="sqliteRow">
    /// The statement of one row as SQLite should run it, its values <c>$p0</c>, <c>$p1</c>, … in the order of
    /// <paramref name="properties"/>; by default the <c>VALUES</c> shape with one row. An <c>UPDATE</c> gives its own:
    /// one row joined to a <c>VALUES</c> list costs SQLite a join each time, a plain <c>UPDATE … WHERE</c> does not.
    /// </param>
    public async Task<int> RowsAsync(StoreMap map, string head, IReadOnlyList<string> properties, IReadOnlyCollection<object?[]> rows, string tail,
        CancellationToken cancellationToken, string? sqliteRow = null)
    {
        if (rows.Count == 0) return mostParameters == 0 ? 0 : -1;
        if (mostParameters == 0 && db.Database.CurrentTransaction is { } transaction)
        {
            var oneRow = sqliteRow ?? head + SqlitePreparedCommand.ValuesRow(properties.Count) + tail;
            if (!prepared.TryGetValue(oneRow, out var statement))
                prepared[oneRow] = statement = new SqlitePreparedCommand(transaction.GetDbTransaction(), oneRow, properties.Count);
            var values = new object?[properties.Count];
            var changed = 0;
            foreach (var row in rows)
            {
                for (var i = 0; i < values.Length; i++) values[i] = map.ProviderValue(properties[i], row[i]);
                changed += await statement.ExecuteAsync(values, cancellationToken).ConfigureAwait(false);
            }
            return changed;
        }
        foreach (var chunk in rows.Chunk(DatabaseSettings.RowsPerStatement(db.Database, properties.Count, MostRows)))
        {
            sql.Append(head);
            for (var r = 0; r < chunk.Length; r++)
            {
                sql.Append(r == 0 ? "(" : ", (");
                for (var i = 0; i < properties.Count; i++) sql.Append(i == 0 ? "" : ", ").Append(Parameter(map, properties[i], chunk[r][i]));
                sql.Append(')');
            }
            sql.Append(tail);
            await EndStatementAsync(cancellationToken).ConfigureAwait(false);
        }
        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var statement in prepared.Values) await statement.DisposeAsync().ConfigureAwait(false);
        await command.DisposeAsync().ConfigureAwait(false);
    }

    private static DbCommand Create(DbContext db)
    {
        var created = db.Database.GetDbConnection().CreateCommand();
        created.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        return created;
    }
}
