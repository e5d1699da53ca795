using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// The write-ahead log is checkpointed by the host's checkpointer thread, not by the commit that fills it: a commit
/// of more than SQLite's default 1,000 pages leaves its pages in the log, and the service copies them into the file
/// soon after.
/// </summary>
public sealed class SqliteCheckpointTests
{
    [Fact]
    public async Task A_large_commit_does_not_checkpoint_and_the_checkpointer_copies_it_into_the_file_soon_after()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        const int Pages = 1_500; // past SQLite's default limit, under the fallback
        await using (var context = await host.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync())
        {
            await context.Database.OpenConnectionAsync();
            await using (var pragma = context.Database.GetDbConnection().CreateCommand())
            {
                pragma.CommandText = "PRAGMA wal_autocheckpoint";
                Assert.Equal((long)SqliteCheckpointer.FallbackPages, await pragma.ExecuteScalarAsync());
            }
            await context.Database.ExecuteSqlRawAsync("CREATE TABLE filler (data BLOB)");
            await using var tx = await context.Database.BeginTransactionAsync();
            for (var i = 0; i < Pages / 2; i++) await context.Database.ExecuteSqlRawAsync("INSERT INTO filler VALUES (randomblob(8000))");
            await tx.CommitAsync();
        }
        var expected = Pages * 4096L * 9 / 10;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (new FileInfo(db.Path).Length < expected && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(new FileInfo(db.Path).Length >= expected,
            $"the file is {new FileInfo(db.Path).Length:N0} bytes 10 s after a commit of about {Pages * 4096L:N0}: nothing checkpointed the log");
        SqliteConnection.ClearAllPools();
    }
}
