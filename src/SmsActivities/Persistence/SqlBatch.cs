using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace SmsActivities.Persistence;

/// <summary>
/// Statements sent as one command inside the context's transaction: a transaction's writes (a settle, the insights
/// cells it moves, the outputs kept) reach the database in one round trip rather than one each. Each statement names
/// its parameters through <see cref="Parameter"/>, so they never clash; a batch grown past
/// <see cref="mostParameters"/> is sent as it stands when its statement ends, and a new one begun. On SQLite, which
/// has no round trip to save, each statement is sent alone (see <see cref="mostParameters"/>).
/// </summary>
internal sealed class SqlBatch(DbContext db) : IAsyncDisposable
{
    /// <summary>
    /// Parameters per command: far below every provider's limit. On SQLite every statement goes alone: its driver binds
    /// each of a command's parameters by name to each of its statements, and SQLite finds a name by a linear search of
    /// the statement's names, so a command of many statements and thousands of parameters costs their product in string
    /// compares (seen as the largest CPU cost of ingesting delivery reports).
    /// </summary>
    private readonly int mostParameters = Workflows.Persistence.DatabaseEngine.IsSqlite(db.Database) ? 0 : 10_000;

    private readonly StringBuilder sql = new();
    private DbCommand command = Create(db);
    private int next;

    /// <summary>The statement being written (ended by <see cref="EndStatementAsync"/>).</summary>
    public StringBuilder Sql => sql;

    /// <summary>A parameter of the statement being written, typed as <paramref name="property"/>'s column; its name, to go in the SQL.</summary>
    public string Parameter(StoreMap map, string property, object? value)
    {
        var name = "@b" + (next++).ToString(CultureInfo.InvariantCulture);
        command.Parameters.Add(map.Parameter(command, property, name, value));
        return name;
    }

    public async ValueTask EndStatementAsync(CancellationToken cancellationToken)
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

    public ValueTask DisposeAsync() => command.DisposeAsync();

    private static DbCommand Create(DbContext db)
    {
        var created = db.Database.GetDbConnection().CreateCommand();
        created.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        return created;
    }
}
