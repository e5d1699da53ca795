using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace SmsActivities.Workflows.Persistence;

/// <summary>SQLite: commit durability of WAL with synchronous=NORMAL (no fsync per commit; safe against corruption).</summary>
internal sealed class SqlitePragmaInterceptor : DbConnectionInterceptor
{
    // Pooled connections are "opened" for every DbContext; the pragma is needed once per physical connection.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, object> Configured = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    private static void Apply(DbConnection connection)
    {
        if (connection is not SqliteConnection { Handle: { } handle } || !Configured.TryAdd(handle, Configured)) return;
        using var command = connection.CreateCommand();
        // secure_delete: a redacted or purged value is overwritten in the file, not left in a free page.
        command.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA secure_delete=ON;";
        command.ExecuteNonQuery();
    }
}
