using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace SmsActivities.Workflows.Persistence;

/// <summary>The database engines the runtime and its plug-ins ship migrations for.</summary>
public enum DatabaseProvider
{
    Sqlite,
    PostgreSql,
}

/// <summary>
/// Which database the runtime and its plug-ins use, read from configuration in one place so a host, the runtime and
/// every plug-in agree: <c>ConnectionStrings:Workflows</c> decides (a SQLite connection string or file path, or a
/// PostgreSQL one such as <c>Host=…;Database=…</c>); <c>Database:Provider</c> overrides the guess;
/// <c>Database:MigrateOnStart</c> (default true) applies pending migrations at start.
/// </summary>
public sealed record DatabaseSettings(DatabaseProvider Provider, string ConnectionString)
{
    public const string ConnectionStringName = "Workflows";
    public const string Section = "Database";

    /// <summary>Apply pending EF Core migrations at start; off for teams that migrate from their pipeline.</summary>
    public bool MigrateOnStart { get; init; } = true;

    /// <summary>The settings of a host; <paramref name="defaultSqliteFile"/> is used when no connection string is configured.</summary>
    public static DatabaseSettings FromConfiguration(IConfiguration configuration, string defaultSqliteFile)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration.GetConnectionString(ConnectionStringName);
        var section = configuration.GetSection(Section);
        var migrate = section["MigrateOnStart"] is { Length: > 0 } text
            ? bool.TryParse(text, out var on) ? on : throw new InvalidOperationException($"{Section}:MigrateOnStart must be true or false, not '{text}'.")
            : true;
        if (string.IsNullOrWhiteSpace(configured))
            return new DatabaseSettings(DatabaseProvider.Sqlite, SqliteFile(defaultSqliteFile)) { MigrateOnStart = migrate };
        var provider = section["Provider"] is { Length: > 0 } named ? ParseProvider(named) : Detect(configured);
        var connectionString = provider == DatabaseProvider.Sqlite && !configured.Contains('=', StringComparison.Ordinal) ? SqliteFile(configured) : configured;
        return new DatabaseSettings(provider, connectionString) { MigrateOnStart = migrate };
    }

    /// <summary>
    /// A PostgreSQL connection string names a host (<c>Host=</c> or <c>Server=</c>); anything else is SQLite (a
    /// <c>Data Source=</c> string or a bare file path).
    /// </summary>
    public static DatabaseProvider Detect(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        if (!connectionString.Contains('=', StringComparison.Ordinal)) return DatabaseProvider.Sqlite;
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not a valid connection string: {e.Message}", e);
        }
        return builder.ContainsKey("Host") || builder.ContainsKey("Server") ? DatabaseProvider.PostgreSql : DatabaseProvider.Sqlite;
    }

    private static DatabaseProvider ParseProvider(string name) => name.Trim().ToLowerInvariant() switch
    {
        "sqlite" => DatabaseProvider.Sqlite,
        "postgresql" or "postgres" or "npgsql" => DatabaseProvider.PostgreSql,
        _ => throw new InvalidOperationException($"{Section}:Provider must be Sqlite or PostgreSql, not '{name}'."),
    };

    private static string SqliteFile(string path) =>
        new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(path), Pooling = true }.ToString();

    /// <summary>
    /// For a plug-in with its own tables: on SQLite its own file (one writer per file keeps SQLite's single lock short),
    /// on PostgreSQL the same database (its own schema).
    /// </summary>
    /// <summary>The full path of the SQLite file; null on PostgreSQL or for a database in memory.</summary>
    public string? SqliteFilePath
    {
        get
        {
            if (Provider != DatabaseProvider.Sqlite) return null;
            var builder = new SqliteConnectionStringBuilder(ConnectionString);
            return builder.Mode == SqliteOpenMode.Memory || builder.DataSource is "" or ":memory:" ? null : Path.GetFullPath(builder.DataSource);
        }
    }

    public DatabaseSettings WithSqliteFile(string path) => Provider == DatabaseProvider.Sqlite ? this with { ConnectionString = SqliteFile(path) } : this;

    /// <summary>
    /// Points a context at the database. On PostgreSQL <paramref name="schema"/> holds the context's migration history
    /// (the context puts its tables there too), so several contexts share one database.
    /// </summary>
    public void Configure(DbContextOptionsBuilder builder, string schema)
    {
        ArgumentNullException.ThrowIfNull(builder);
        switch (Provider)
        {
            case DatabaseProvider.PostgreSql:
                builder.UseNpgsql(ConnectionString, o => o.MigrationsHistoryTable(HistoryTable, schema));
                break;
            default:
                // The file's folder (e.g. data/) is made on first use, not when the settings are read.
                if (SqliteFilePath is { } file && Path.GetDirectoryName(file) is { } folder) Directory.CreateDirectory(folder);
                UseSqlite(builder, ConnectionString);
                break;
        }
    }

    public const string HistoryTable = "__EFMigrationsHistory";

    /// <summary>A context on a SQLite file: its queries built as <see cref="SqliteQueries"/> says, its connections without EF's SQL functions (<see cref="PlainSqliteRelationalConnection"/>).</summary>
    public static DbContextOptionsBuilder UseSqlite(DbContextOptionsBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
#pragma warning disable EF1001 // The provider's own connection service, replaced by its subclass.
        return builder.UseSqlite(connectionString, SqliteQueries)
            .ReplaceService<Microsoft.EntityFrameworkCore.Sqlite.Storage.Internal.ISqliteRelationalConnection, PlainSqliteRelationalConnection>();
#pragma warning restore EF1001
    }

    /// <summary>Names a SQLite context's migration history table: a second context in one file keeps its own.</summary>
    public static void UseSqliteHistory(DbContextOptionsBuilder builder, string table) => builder.UseSqlite(o => o.MigrationsHistoryTable(table));

    /// <summary>
    /// How queries are built for SQLite: a list a query matches against (<c>ids.Contains(x)</c>) is one JSON parameter,
    /// not one parameter per element as EF Core 10 does by default. One per element gives each list length its own SQL
    /// to build and cache, and binding hundreds of named parameters costs SQLite a linear search for each.
    /// </summary>
    public static void SqliteQueries(SqliteDbContextOptionsBuilder sqlite)
    {
        ArgumentNullException.ThrowIfNull(sqlite);
        sqlite.UseParameterizedCollectionMode(ParameterTranslationMode.Parameter);
    }

    /// <summary>The provider names EF Core reports (<c>Database.ProviderName</c>).</summary>
    public const string NpgsqlProviderName = "Npgsql.EntityFrameworkCore.PostgreSQL";

    public const string SqliteProviderName = "Microsoft.EntityFrameworkCore.Sqlite";

    /// <summary>
    /// How many rows one multi-row statement of <paramref name="columns"/> parameters a row should carry, at most
    /// <paramref name="most"/>. SQLite's driver binds each parameter by name and SQLite finds a name by a linear search
    /// of the statement's names, so a statement's binding costs the square of its parameters: there a few rows a
    /// statement (about <see cref="SqliteParametersPerStatement"/> parameters) cost less than one statement of thousands.
    /// </summary>
    public static int RowsPerStatement(DatabaseFacade database, int columns, int most)
    {
        ArgumentNullException.ThrowIfNull(database);
        return DatabaseEngine.IsSqlite(database) ? Math.Clamp(SqliteParametersPerStatement / Math.Max(1, columns), 1, most) : most;
    }

    private const int SqliteParametersPerStatement = 100;
}
