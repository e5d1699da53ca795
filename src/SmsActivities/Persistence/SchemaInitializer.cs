using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace SmsActivities.Persistence;

/// <summary>
/// Creates missing tables and indexes of a context (no `dotnet ef` tooling can be had here). Works when the
/// database already holds other contexts' tables, which <c>EnsureCreated</c> does not, and on both SQLite and
/// PostgreSQL, which both understand <c>IF NOT EXISTS</c>.
/// </summary>
public static class SchemaInitializer
{
    public static async Task EnsureSchemaAsync(DbContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var creator = context.GetService<IRelationalDatabaseCreator>();
        if (!await creator.ExistsAsync(cancellationToken).ConfigureAwait(false))
            await creator.CreateAsync(cancellationToken).ConfigureAwait(false);
        // WAL is a property of the file: readers (opt-out checks, report lookups) stop blocking the writer of send records.
        if (context.Database.IsSqlite())
            await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);

        var script = context.Database.GenerateCreateScript()
            .Replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", StringComparison.Ordinal)
            .Replace("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", StringComparison.Ordinal)
            .Replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", StringComparison.Ordinal);
        foreach (var statement in script.Split(";", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (statement.Length == 0) continue;
#pragma warning disable EF1002 // The DDL comes from EF's own model, not from user input.
            await context.Database.ExecuteSqlRawAsync(statement, cancellationToken).ConfigureAwait(false);
#pragma warning restore EF1002
        }
    }
}
