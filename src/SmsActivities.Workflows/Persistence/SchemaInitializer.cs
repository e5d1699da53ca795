using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Creates the schema on first start and records its version; later versions add upgrade steps here
/// (there is no <c>dotnet ef</c> tooling to generate migrations).
/// </summary>
internal static class SchemaInitializer
{
    public const int CurrentVersion = 1;

    public static async Task EnsureAsync(IDbContextFactory<WorkflowDbContext> factory, CancellationToken cancellationToken)
    {
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        if (db.Database.IsSqlite())
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken); // readers do not block the writer
        await db.Database.EnsureCreatedAsync(cancellationToken);
        var row = await db.SchemaVersion.OrderBy(v => v.Id).FirstOrDefaultAsync(cancellationToken);
        if (row is null)
        {
            db.SchemaVersion.Add(new SchemaVersionRow { Id = 1, Version = CurrentVersion });
            await db.SaveChangesAsync(cancellationToken);
        }
        else if (row.Version > CurrentVersion)
        {
            throw new InvalidOperationException($"The workflow database has schema version {row.Version}, newer than this build ({CurrentVersion}).");
        }
    }
}

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
