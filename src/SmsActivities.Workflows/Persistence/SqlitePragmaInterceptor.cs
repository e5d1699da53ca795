using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// SQLite settings of every connection the runtime and its plug-ins open. synchronous=NORMAL in WAL mode: a commit is
/// written to the log before it returns but not flushed to the disk (the log is flushed at checkpoints), so a commit
/// survives the process being killed (SIGKILL included) and the file is never corrupted, while a power loss or an
/// operating system crash may lose the last commits. A flush on every commit costs milliseconds (over 10 ms on a busy
/// shared disk): several times what a whole run costs otherwise.
/// <para>
/// With a <see cref="SqliteCheckpointer"/>, the file's log is checkpointed by that service's thread instead of by the
/// commit that fills it, and SQLite's own limit is raised to a fallback.
/// </para>
/// </summary>
public sealed class SqlitePragmaInterceptor(SqliteCheckpointer? checkpointer = null) : DbConnectionInterceptor
{
    // Pooled connections are "opened" for every DbContext; the pragma is needed once per physical connection.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> Configured = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    private void Apply(DbConnection connection)
    {
        if (connection is not SqliteConnection { Handle: { } handle } || !Configured.TryAdd(handle, Configured)) return;
        using var command = connection.CreateCommand();
        // secure_delete: a redacted or purged value is overwritten in the file, not left in a free page.
        command.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA secure_delete=ON;"
                              + (checkpointer is null ? "" : $"PRAGMA wal_autocheckpoint={SqliteCheckpointer.FallbackPages};");
        command.ExecuteNonQuery();
        checkpointer?.Watch(connection.ConnectionString);
    }
}
