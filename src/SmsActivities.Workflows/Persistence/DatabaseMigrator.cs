using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Applies a context's EF Core migrations at start, for the runtime and for plug-ins. Several nodes may start at once:
/// EF Core takes a database lock while it migrates (an advisory lock on PostgreSQL).
/// </summary>
public static class DatabaseMigrator
{
    /// <summary>
    /// Brings a context's database to this build's schema, or (<paramref name="migrate"/> off) fails when a migration
    /// is missing, so a pipeline that migrates with <c>dotnet ef database update</c> or a bundle is not bypassed.
    /// <paramref name="probe"/> tells the provider; <paramref name="sqlite"/> and <paramref name="postgres"/> make that
    /// provider's migration context. A provider without migrations gets the schema straight from the model.
    /// </summary>
    public static async Task EnsureSchemaAsync<TContext>(TContext probe, Func<TContext> sqlite, Func<TContext> postgres, string legacyTable, bool migrate,
        CancellationToken cancellationToken) where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(sqlite);
        ArgumentNullException.ThrowIfNull(postgres);
        TContext? migrations = probe.Database.ProviderName switch
        {
            DatabaseSettings.SqliteProviderName => sqlite(),
            DatabaseSettings.NpgsqlProviderName => postgres(),
            _ => null,
        };
        if (migrations is null)
        {
            await probe.Database.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        await using (migrations.ConfigureAwait(false))
        {
            if (migrate)
            {
                await MigrateAsync(migrations, legacyTable, cancellationToken).ConfigureAwait(false);
                return;
            }
            var pending = await PendingMigrationsAsync(migrations, cancellationToken).ConfigureAwait(false);
            if (pending.Count > 0)
            {
                var context = migrations.GetType();
                throw new DatabaseNotMigratedException(
                    $"{DatabaseSettings.Section}:MigrateOnStart is false and the database lacks the {context.Name} migrations {string.Join(", ", pending)}. " +
                    $"Apply them first: dotnet ef database update --project src/{context.Assembly.GetName().Name} --context {context.Name} --connection '<ConnectionStrings:Workflows>' " +
                    $"(or that context's migration bundle), or set {DatabaseSettings.Section}:MigrateOnStart=true to apply them at start.");
            }
        }
    }

    /// <summary>
    /// The migrations not applied yet. The history table is looked for first: Npgsql reads it without asking whether it
    /// exists, and EF logs the failed query as an error ahead of the message that says what to do.
    /// </summary>
    private static async Task<IReadOnlyList<string>> PendingMigrationsAsync(DbContext migrations, CancellationToken cancellationToken)
    {
        if (!await HistoryExistsAsync(migrations, cancellationToken).ConfigureAwait(false))
            return migrations.Database.GetMigrations().ToList();
        return (await migrations.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)).ToList();
    }

    /// <summary>Npgsql's history repository answers "exists" with true whatever is there, so PostgreSQL is asked itself.</summary>
    private static async Task<bool> HistoryExistsAsync(DbContext context, CancellationToken cancellationToken)
    {
        if (!DatabaseEngine.IsPostgres(context.Database))
            return await context.GetService<IHistoryRepository>().ExistsAsync(cancellationToken).ConfigureAwait(false);
        if (!await context.GetService<IRelationalDatabaseCreator>().ExistsAsync(cancellationToken).ConfigureAwait(false)) return false;
        var options = RelationalOptionsExtension.Extract(context.GetService<IDbContextOptions>());
        var table = context.GetService<ISqlGenerationHelper>().DelimitIdentifier(
            options.MigrationsHistoryTableName ?? HistoryRepository.DefaultTableName, options.MigrationsHistoryTableSchema);
        return await context.Database.SqlQuery<bool>($"SELECT to_regclass({table}) IS NOT NULL AS \"Value\"")
            .SingleAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies the pending migrations of <paramref name="context"/> (the provider's migration context). A SQLite file
    /// made before migrations existed has <paramref name="legacyTable"/> but no history: its schema is the first
    /// migration's, so that one is recorded as applied and only the later ones run, keeping the data.
    /// </summary>
    private static async Task MigrateAsync(DbContext context, string legacyTable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Database.IsSqlite())
        {
            // WAL is a property of the file: readers stop blocking the writer.
            await context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
            await AdoptLegacySqliteAsync(context, legacyTable, cancellationToken).ConfigureAwait(false);
        }
        else if (DatabaseEngine.IsPostgres(context.Database))
        {
            await CreatePostgresHistoryAsync(context, cancellationToken).ConfigureAwait(false);
        }
        await context.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Npgsql's migrator reads the history table without first asking whether it exists, so on an empty database EF
    /// logs that failed query as an error (and then creates the table). Creating the table (and its schema) first keeps
    /// a first start free of errors in the log. Nodes starting together queue on a transaction-scoped advisory lock:
    /// concurrent CREATE … IF NOT EXISTS of one name can still collide in PostgreSQL's catalog.
    /// </summary>
    private static async Task CreatePostgresHistoryAsync(DbContext context, CancellationToken cancellationToken)
    {
        // A database that does not exist yet is EF's to create (with the history table).
        if (!await context.GetService<IRelationalDatabaseCreator>().ExistsAsync(cancellationToken).ConfigureAwait(false)) return;
        var history = context.GetService<IHistoryRepository>();
        var lockName = "migrations:" + context.GetType().FullName;
        await using var tx = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await context.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({lockName}))", cancellationToken).ConfigureAwait(false);
#pragma warning disable EF1002 // EF Core's own history script, no user input.
        await context.Database.ExecuteSqlRawAsync(history.GetCreateIfNotExistsScript(), cancellationToken).ConfigureAwait(false);
#pragma warning restore EF1002
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task AdoptLegacySqliteAsync(DbContext context, string legacyTable, CancellationToken cancellationToken)
    {
        var history = context.GetService<IHistoryRepository>();
        if (await history.ExistsAsync(cancellationToken).ConfigureAwait(false)) return;
        var tables = await context.Database
            .SqlQuery<int>($"SELECT COUNT(*) AS \"Value\" FROM sqlite_master WHERE type = 'table' AND name = {legacyTable}")
            .SingleAsync(cancellationToken).ConfigureAwait(false);
        if (tables == 0) return;
        var first = context.Database.GetMigrations().First();
#pragma warning disable EF1002 // EF Core's own history scripts, no user input.
        await context.Database.ExecuteSqlRawAsync(history.GetCreateIfNotExistsScript(), cancellationToken).ConfigureAwait(false);
        await context.Database.ExecuteSqlRawAsync(history.GetInsertScript(new HistoryRow(first, ProductInfo.GetVersion())), cancellationToken).ConfigureAwait(false);
#pragma warning restore EF1002
    }
}
