using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// SQLite's automatic checkpoint is off (it ran inside a commit, holding up every writer queued behind it) and the
/// runtime's checkpointer copies the write-ahead log back in the background instead: the log must stay bounded.
/// </summary>
public sealed class SqliteCheckpointTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sms-checkpoint-").FullName;
    private string Database => Path.Combine(_folder, "workflows.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_write_ahead_log_stays_about_one_intervals_writes_long_with_sqlites_own_checkpoint_off()
    {
        await using var host = await TestHost.StartAsync(Database);
        var contexts = host.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>();
        await using (var db = await contexts.CreateDbContextAsync())
        {
            await db.Database.OpenConnectionAsync();
            Assert.Equal(0L, await Scalar(db, "PRAGMA wal_autocheckpoint;"));
            await db.Database.ExecuteSqlRawAsync("CREATE TABLE filler (x BLOB);");
        }

        // Rounds of about 2 MB of log each (rows written, then deleted so the file itself does not grow), a little
        // more than a checkpoint interval apart. Without a checkpoint the log holds every round.
        const int rounds = 8;
        const long roundBytes = 2_100_000;
        var walSizes = new List<long>();
        for (var round = 0; round < rounds; round++)
        {
            await using (var db = await contexts.CreateDbContextAsync())
            {
                await db.Database.ExecuteSqlRawAsync(
                    "INSERT INTO filler SELECT randomblob(1000) FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000) SELECT n FROM c);");
                await db.Database.ExecuteSqlRawAsync("DELETE FROM filler;");
            }
            walSizes.Add(new FileInfo(Database + "-wal").Length);
            await Task.Delay(SqliteCheckpointer<WorkflowDbContext>.Interval * 1.5);
        }
        Assert.True(walSizes.Max() < 3 * roundBytes,
            $"the log should be restarted after each checkpoint; its size after each round, bytes: {string.Join(", ", walSizes)}");
    }

    private static async Task<long> Scalar(DbContext db, string sql)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
