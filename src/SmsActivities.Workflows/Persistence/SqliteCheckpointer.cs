using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Copies a SQLite file's write-ahead log back into the file every <see cref="Interval"/>, off the write path.
/// SQLite's own automatic checkpoint runs inside the commit that grows the log past 1,000 pages, so that commit (and
/// every writer queued behind it at <see cref="SqliteWriteGate"/>: the webhook acknowledgements among them) waited for
/// the copy. <see cref="SqlitePragmaInterceptor"/> turns that off (<c>wal_autocheckpoint=0</c>) and this does it instead.
/// A PASSIVE checkpoint takes no writer's lock and waits for nobody; once it has copied everything, the next writer
/// starts the log again from its beginning, so the log stays about as large as one interval's writes.
/// Real time, not the runtime's clock: the log grows with writes, whatever time the workflows see.
/// On PostgreSQL it does nothing.
/// </summary>
public sealed class SqliteCheckpointer<TContext>(IDbContextFactory<TContext> contexts, ILogger<SqliteCheckpointer<TContext>> logger) : BackgroundService
    where TContext : DbContext
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using (var probe = await contexts.CreateDbContextAsync(stoppingToken).ConfigureAwait(false))
            if (!DatabaseEngine.IsSqlite(probe.Database)) return;
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await using var db = await contexts.CreateDbContextAsync(stoppingToken).ConfigureAwait(false);
                    await db.Database.ExecuteSqlRawAsync("PRAGMA wal_checkpoint(PASSIVE);", stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogDebug(e, "A write-ahead log checkpoint of {Context} failed; trying again on the next tick.", typeof(TContext).Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
