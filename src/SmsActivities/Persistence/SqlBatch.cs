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
/// <see cref="MostParameters"/> is sent as it stands when its statement ends, and a new one begun.
/// </summary>
internal sealed class SqlBatch(DbContext db) : IAsyncDisposable
{
    /// <summary>Parameters per command: far below every provider's limit.</summary>
    private const int MostParameters = 10_000;

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
        if (command.Parameters.Count >= MostParameters) await ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends the statements written so far (nothing when there are none).</summary>
    public async Task ExecuteAsync(CancellationToken cancellationToken)
    {
        if (sql.Length == 0) return;
        command.CommandText = sql.ToString();
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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
