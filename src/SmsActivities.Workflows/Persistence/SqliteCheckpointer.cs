using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Checkpoints the write-ahead logs of the SQLite files the runtime and its plug-ins write, from a thread of its own.
/// SQLite otherwise runs a checkpoint inside the commit that grows the log past 1,000 pages: that commit then copies
/// the log into the file and flushes both to the disk while it holds the file's write turn, and every other writer
/// waits. Under a burst of delivery reports that was about half of every group commit's time (20–25 ms of a commit's
/// 40–50 ms). A checkpoint from another connection needs no write lock: writers go on appending to the log while it
/// runs, and the log is started over by the first writer after a checkpoint that caught up.
/// <para>
/// Only while the host runs: each file is watched once a connection to it is opened through
/// <see cref="SqlitePragmaInterceptor"/>, which also raises SQLite's own limit to <see cref="FallbackPages"/>, so a
/// log still cannot grow without bound if this service is not running (a tool that uses the database without a host)
/// or falls behind.
/// </para>
/// </summary>
public sealed class SqliteCheckpointer(ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    /// <summary>How often each file's log is checkpointed: a report burst appends some 10,000 pages a second.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>SQLite's own checkpoint limit on connections whose file this service checkpoints (about 40 MB of log).</summary>
    internal const int FallbackPages = 10_000;

    private readonly ConcurrentDictionary<string, string> _files = new(StringComparer.Ordinal);

    /// <summary>Checkpoints the file <paramref name="connectionString"/> names from now on (an in-memory database has no log).</summary>
    internal void Watch(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        if (builder.Mode == SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:") return;
        // Never creates the file: one deleted while the host runs (a test's folder) is dropped, not made again empty.
        var own = new SqliteConnectionStringBuilder { DataSource = builder.DataSource, Mode = SqliteOpenMode.ReadWrite, Pooling = false, DefaultTimeout = 1 };
        _files.TryAdd(Path.GetFullPath(builder.DataSource), own.ToString());
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // A thread of its own: a checkpoint flushes the disk, and a pool thread blocked for that is missed by everything else.
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        var connections = new Dictionary<string, SqliteConnection>(StringComparer.Ordinal);
        try
        {
            while (!stoppingToken.WaitHandle.WaitOne(Interval))
                foreach (var (file, connectionString) in _files)
                    Checkpoint(file, connectionString, connections);
        }
        finally
        {
            foreach (var connection in connections.Values) connection.Dispose();
        }
    }

    private void Checkpoint(string file, string connectionString, Dictionary<string, SqliteConnection> connections)
    {
        try
        {
            if (!connections.TryGetValue(file, out var connection))
            {
                if (!File.Exists(file))
                {
                    _files.TryRemove(file, out _);
                    return;
                }
                connection = new SqliteConnection(connectionString);
                connection.Open();
                connections[file] = connection;
            }
            using var command = connection.CreateCommand();
            // PASSIVE: copies what no reader still needs and never waits for a lock, so no writer or reader waits for it.
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            command.ExecuteNonQuery();
        }
        catch (SqliteException e)
        {
            // Busy, or the file went away: SQLite's own limit still bounds the log; try again on the next tick.
            logger.LogDebug(e, "Checkpointing {File} failed; trying again", file);
            if (connections.Remove(file, out var broken)) broken.Dispose();
        }
    }
}
