using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// Where the plug-in's tables are: by default in the runtime's database (its SQLite file, or its PostgreSQL database in
/// schema <c>sms</c>), so the plug-in's writes can join the runtime's transactions (a send's completion riding its run's
/// commit) and, on SQLite, take the runtime's write turn; on SQLite <c>SmsActivities:ConnectionString</c> can give them
/// a file of their own instead, and a host can configure them in code.
/// </summary>
public sealed class PluginDatabase
{
    private readonly Func<DbContextOptions<SmsActivitiesDbContext>> options;

    /// <param name="settings">Null: configured in code by the host (never taken for the runtime's).</param>
    /// <param name="sqliteFolder">
    /// Where the push inbox's file and the plug-in's file of earlier versions are when the tables share the runtime's
    /// SQLite file (the data folder); null: the runtime's file's folder.
    /// </param>
    internal PluginDatabase(DatabaseSettings? settings, RuntimeDatabase runtime, Func<DbContextOptions<SmsActivitiesDbContext>> options, string? sqliteFolder)
    {
        this.options = options;
        Settings = settings;
        Shared = settings is not null && runtime.Holds(settings);
        Writes = Shared ? runtime.Writes : new SqliteWriteGate();
        if (settings is not { Provider: DatabaseProvider.Sqlite }) return;
        if (Shared && (sqliteFolder ?? runtime.SqliteFolder) is { } folder)
        {
            InboxFile = settings.WithSqliteFile(Path.Combine(folder, InboxFileName));
            LegacyFile = settings.WithSqliteFile(Path.Combine(folder, LegacyPluginFile.FileName));
        }
        else if (!Shared)
        {
            InboxFile = InboxFileBeside(settings);
        }
    }

    /// <summary>The push inbox's file in the data folder when the plug-in shares the runtime's file.</summary>
    public const string InboxFileName = "sms-inbox.db";

    /// <summary>The plug-in's database; null when the host configured it in code.</summary>
    public DatabaseSettings? Settings { get; }

    /// <summary>The plug-in's tables are in the runtime's database.</summary>
    public bool Shared { get; }

    /// <summary>The plug-in database's write turn: the runtime's when the database is shared.</summary>
    internal SqliteWriteGate Writes { get; }

    /// <summary>
    /// The push inbox's own SQLite file, so an acknowledgement's one-row commit never queues behind a report or a run's
    /// commit: <see cref="InboxFileName"/> in the data folder, or <c>name-inbox.db</c> beside the plug-in's own
    /// file. Null on PostgreSQL, in memory or for a database configured in code, where the inbox shares the plug-in's tables.
    /// </summary>
    internal DatabaseSettings? InboxFile { get; }

    /// <summary>The plug-in's own file of earlier versions in the data folder, to move in at start; null unless the tables share a SQLite file.</summary>
    internal DatabaseSettings? LegacyFile { get; }

    /// <summary>
    /// A context of the plug-in's model on <paramref name="connection"/>, which stays the lender's (neither opened,
    /// closed nor disposed here); disposing the lease gives the context back for the next loan. The contexts are kept
    /// (a new one costs EF Core's set-up on every send) and only ever used on lent connections.
    /// </summary>
    internal Loan On(DbConnection connection)
    {
        if (!idle.TryTake(out var db)) db = new SmsActivitiesDbContext(options());
        db.Database.SetDbConnection(connection, contextOwnsConnection: false);
        return new Loan(this, db);
    }

    private readonly ConcurrentBag<SmsActivitiesDbContext> idle = [];

    /// <summary>A context on a lent connection, for one write.</summary>
    internal sealed class Loan(PluginDatabase owner, SmsActivitiesDbContext db) : IDisposable
    {
        public SmsActivitiesDbContext Db => db;

        public void Dispose()
        {
            db.ChangeTracker.Clear();
            db.Database.SetDbConnection(null, contextOwnsConnection: false);
            owner.idle.Add(db);
        }
    }

    private static DatabaseSettings? InboxFileBeside(DatabaseSettings plugin) => plugin.SqliteFilePath is not { } path ? null
        : plugin.WithSqliteFile(Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path) + "-inbox" + Path.GetExtension(path)));
}
