using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Storage;

namespace SmsActivities.Workflows.Persistence;

#pragma warning disable EF1001 // SqliteRelationalConnection is EF Core's internal API; its constructor is the provider's own.
/// <summary>
/// EF Core's SQLite connection without the SQL functions EF registers on each connection it creates (<c>regexp</c> and
/// the <c>ef_*</c> decimal arithmetic, comparison and aggregates, the <c>EF_DECIMAL</c> collation). Microsoft.Data.Sqlite
/// registers a connection's functions with SQLite on every open and removes them on every close, and the runtime and the
/// plug-in open a pooled connection for each short unit of work: the functions cost about 30 µs and 8 KB of garbage an
/// open, several times what the open itself costs. No query of theirs uses them: fees are summed as integers
/// (<c>FeeUnits</c>), never as decimals, and no query matches a regular expression. A query that did would fail with
/// "no such function", which the test suite would show.
/// </summary>
internal sealed class PlainSqliteRelationalConnection(
    RelationalConnectionDependencies dependencies,
    IRawSqlCommandBuilder rawSqlCommandBuilder,
    IDiagnosticsLogger<DbLoggerCategory.Infrastructure> logger)
    : Microsoft.EntityFrameworkCore.Sqlite.Storage.Internal.SqliteRelationalConnection(dependencies, rawSqlCommandBuilder, logger)
{
    protected override DbConnection CreateDbConnection()
    {
        var connection = new SqliteConnection(GetValidatedConnectionString());
        if (CommandTimeout is { } timeout) connection.DefaultTimeout = timeout;
        return connection;
    }
}
#pragma warning restore EF1001
