using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using SmsActivities.Hosting;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// Before the plug-in's tables moved into the runtime's SQLite file, they had one of their own, <c>sms.db</c> in the data folder.
/// At the first start after the upgrade that file is brought to this build's schema where it lies, its rows are copied
/// into the (still empty) tables in the runtime's file in one transaction, and it is renamed <c>sms.db.moved</c>: nothing
/// recorded before the upgrade is lost, and a crash in between leaves either the old file to copy again or the copy made.
/// </summary>
internal sealed class LegacyPluginFile(DatabaseSettings file, SqliteCheckpointer checkpointer, ILogger logger)
{
    public const string FileName = "sms.db";

    /// <summary>What the moved file (and its WAL and shared-memory files) is renamed with.</summary>
    public const string MovedSuffix = ".moved";

    private string Path => file.SqliteFilePath ?? throw new InvalidOperationException("the plug-in's file of earlier versions is a SQLite file");

    /// <param name="target">The plug-in's tables in the runtime's file, migrated already.</param>
    /// <param name="ensureSchema">Brings a plug-in database to this build's schema (as the target was).</param>
    public async Task MoveIntoAsync(DbContextOptions<SmsActivitiesDbContext> target, Func<DbContextOptions<SmsActivitiesDbContext>, CancellationToken, Task> ensureSchema,
        CancellationToken cancellationToken)
    {
        if (!File.Exists(Path)) return;
        var legacy = new DbContextOptionsBuilder<SmsActivitiesDbContext>();
        SmsActivitiesServiceCollectionExtensions.ConfigurePluginModel(legacy, file, checkpointer);
        await ensureSchema(legacy.Options, cancellationToken).ConfigureAwait(false);
        using (var pooled = new SqliteConnection(file.ConnectionString)) SqliteConnection.ClearPool(pooled);

        var db = new SmsActivitiesDbContext(target);
        await using (db.ConfigureAwait(false))
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await db.Database.ExecuteSqlAsync($"ATTACH DATABASE {Path} AS legacy", cancellationToken).ConfigureAwait(false);
                try
                {
                    if (await CopyRowsAsync(db, cancellationToken).ConfigureAwait(false))
                        logger.LogInformation("Moved the plug-in's tables from {File} into the runtime's database; the old file is kept as {Moved}.", Path, Path + MovedSuffix);
                    else
                        logger.LogWarning("The plug-in's tables in the runtime's database already hold rows, so {File} was not copied in (a copy made before a crash, or " +
                            "the file put back after the upgrade); it is kept as {Moved}.", Path, Path + MovedSuffix);
                }
                finally
                {
                    await db.Database.ExecuteSqlRawAsync("DETACH DATABASE legacy", cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                await db.Database.CloseConnectionAsync().ConfigureAwait(false);
            }
        }
        foreach (var suffix in new[] { "", "-wal", "-shm" })
            if (File.Exists(Path + suffix)) File.Move(Path + suffix, Path + suffix + MovedSuffix, overwrite: true);
    }

    /// <summary>Every table of the model, by the target's columns; nothing (false) when the target holds rows already (a copy made before a crash).</summary>
    private static async Task<bool> CopyRowsAsync(SmsActivitiesDbContext db, CancellationToken cancellationToken)
    {
        var tables = db.Model.GetEntityTypes().Select(e => e.GetTableName()).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        await using var tx = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var table in tables)
        {
#pragma warning disable EF1002 // Table and column names from the model and SQLite's catalog, quoted; no user input.
            var any = await db.Database.SqlQueryRaw<int>($"SELECT EXISTS (SELECT 1 FROM main.\"{table}\") AS \"Value\"").SingleAsync(cancellationToken).ConfigureAwait(false);
            if (any == 1) return false;
        }
        foreach (var table in tables)
        {
            var columns = await db.Database.SqlQueryRaw<string>($"SELECT name AS \"Value\" FROM pragma_table_info('{table}', 'main')").ToListAsync(cancellationToken)
                .ConfigureAwait(false);
            var list = string.Join(", ", columns.Select(c => "\"" + c + "\""));
            await db.Database.ExecuteSqlRawAsync($"INSERT INTO main.\"{table}\" ({list}) SELECT {list} FROM legacy.\"{table}\"", cancellationToken).ConfigureAwait(false);
#pragma warning restore EF1002
        }
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }
}
