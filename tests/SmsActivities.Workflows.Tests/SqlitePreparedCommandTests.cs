using Microsoft.Data.Sqlite;
using SmsActivities.Workflows.Persistence;
using Xunit;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// The runtime's and the plug-in's hand-written SQLite writes bind their values natively and keep their statements
/// prepared per connection: the rows must be what Microsoft.Data.Sqlite (and so EF Core) would have written, and a kept
/// statement must survive pooled connections, errors and the pool being cleared.
/// </summary>
/// <remarks>Alone, not beside other tests: they clear the driver's pools, which would hand this test a new native connection.</remarks>
[Collection(nameof(SqlitePreparedCommandTests))]
public sealed class SqlitePreparedCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("prepared-").FullName;
    private string ConnectionString => $"Data Source={Path.Combine(_folder, "t.db")}";

    private enum Shade { Light = 3 }

    public static TheoryData<object?> Values() => new()
    {
        null, DBNull.Value, "text", "文字 ✓", "", 42L, -7, true, false, 1.25d, 0.5f, new byte[] { 1, 2, 255 }, Array.Empty<byte>(),
        0m, 1.5m, 12.340m, -0.0001m, 79228162514264337593543950335m, 0.00000000000000000000000001m,
        new DateTime(2026, 12, 6, 3, 4, 5, 678, DateTimeKind.Utc), new DateTime(2026, 1, 2, 0, 0, 0, DateTimeKind.Unspecified),
        new DateTimeOffset(2026, 12, 6, 11, 4, 5, 120, TimeSpan.FromHours(8)), Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"),
        (short)-3, (byte)200, (sbyte)-1, (ushort)65535, uint.MaxValue, Shade.Light,
    };

    [Theory]
    [MemberData(nameof(Values))]
    public async Task A_value_is_bound_as_the_driver_binds_it(object? value)
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        const string sql = "SELECT typeof($p0) || ':' || quote($p0)";
        await using var driver = connection.CreateCommand();
        driver.CommandText = sql;
        driver.Parameters.AddWithValue("$p0", value ?? DBNull.Value);
        var expected = (string?)await driver.ExecuteScalarAsync();

        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
        await using var prepared = new SqlitePreparedCommand(transaction, sql, 1);
        Assert.Equal(expected, await prepared.ScalarAsync([value], CancellationToken.None));
    }

    [Fact]
    public async Task A_statement_stays_prepared_across_pooled_connections_and_runs_again_after_an_error()
    {
        await ExecuteAsync("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
        const string insert = "INSERT INTO t (k, v) VALUES ($p0, $p1) RETURNING v * 2";
        PreparedStatements.Statement? first = null;
        for (var round = 0; round < 3; round++)
        {
            await using var connection = new SqliteConnection(ConnectionString);
            await connection.OpenAsync();
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
            var statement = PreparedStatements.Rent(connection.Handle!, insert, 2);
            PreparedStatements.Return(connection.Handle!, statement);
            // The pool hands back the same native connection, and with it the statement prepared in the first round.
            first ??= statement;
            Assert.Same(first, statement);
            await using (var command = new SqlitePreparedCommand(transaction, insert, 2))
            {
                Assert.Equal(2L * round, await command.ScalarAsync([$"k{round}", round], CancellationToken.None));
                var duplicate = await Assert.ThrowsAsync<SqliteException>(() => command.ExecuteAsync([$"k{round}", 9], CancellationToken.None));
                Assert.Equal(19, duplicate.SqliteErrorCode); // SQLITE_CONSTRAINT
                Assert.Equal(1, await command.ExecuteAsync([$"other{round}", 1], CancellationToken.None));
            }
            await transaction.CommitAsync();
        }
        Assert.Equal(6L, await ScalarAsync("SELECT count(*) FROM t"));

        // A cleared pool closes the native connection; a new one prepares the statement anew.
        SqliteConnection.ClearAllPools();
        await using (var connection = new SqliteConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
            await using var command = new SqlitePreparedCommand(transaction, insert, 2);
            Assert.Equal(20L, await command.ScalarAsync(["after", 10], CancellationToken.None));
            await transaction.CommitAsync();
        }
        Assert.Equal(7L, await ScalarAsync("SELECT count(*) FROM t"));
    }

    [Fact]
    public async Task Two_commands_of_the_same_statement_at_once_each_have_their_own()
    {
        await ExecuteAsync("CREATE TABLE u (v INTEGER NOT NULL)");
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
        const string insert = "INSERT INTO u (v) VALUES ($p0)";
        await using var one = new SqlitePreparedCommand(transaction, insert, 1);
        await using var two = new SqlitePreparedCommand(transaction, insert, 1);
        Assert.Equal(1, await one.ExecuteAsync([1], CancellationToken.None));
        Assert.Equal(1, await two.ExecuteAsync([2], CancellationToken.None));
        Assert.Equal(1, await one.ExecuteAsync([3], CancellationToken.None));
        await transaction.CommitAsync();
        Assert.Equal(6L, await ScalarAsync("SELECT sum(v) FROM u"));
    }

    [Fact]
    public async Task A_row_is_read_as_the_driver_reads_it()
    {
        await ExecuteAsync("CREATE TABLE r (t TEXT, i INTEGER, b INTEGER, d TEXT, x BLOB, n TEXT)");
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO r VALUES ($t, $i, $b, $d, $x, NULL), ('', -1, 0, '0.0', x'', NULL)";
            insert.Parameters.AddWithValue("$t", "文字 ✓");
            insert.Parameters.AddWithValue("$i", long.MaxValue);
            insert.Parameters.AddWithValue("$b", true);
            insert.Parameters.AddWithValue("$d", 12.340m);
            insert.Parameters.AddWithValue("$x", new byte[] { 0, 7, 255 });
            await insert.ExecuteNonQueryAsync();
        }
        var expected = new List<string>();
        await using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT t, i, b, d, x, n FROM r ORDER BY i DESC";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                expected.Add(string.Join('|', reader.GetString(0), reader.GetInt64(1), reader.GetBoolean(2), reader.GetDecimal(3), Convert.ToHexString((byte[])reader.GetValue(4)),
                    reader.IsDBNull(5), reader.GetInt64(1) == -1 ? 0 : reader.GetInt32(2)));
        }
        var actual = new List<string>();
        await using (var prepared = new SqlitePreparedCommand(connection, "SELECT t, i, b, d, x, n FROM r ORDER BY i DESC", 0))
            await prepared.ReadAsync([], row => actual.Add(string.Join('|', row.GetString(0), row.GetInt64(1), row.GetBoolean(2), row.GetDecimal(3),
                Convert.ToHexString(row.GetBytes(4)), row.IsNull(5), row.GetInt64(1) == -1 ? 0 : row.GetInt32(2))), CancellationToken.None);
        Assert.Equal(2, expected.Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task A_value_it_cannot_bind_is_refused_by_type()
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync();
        await using var command = new SqlitePreparedCommand(transaction, "SELECT $p0", 1);
        var refused = await Assert.ThrowsAsync<NotSupportedException>(() => command.ScalarAsync([TimeSpan.FromSeconds(1)], CancellationToken.None));
        Assert.Contains(nameof(TimeSpan), refused.Message, StringComparison.Ordinal);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}

[CollectionDefinition(nameof(SqlitePreparedCommandTests), DisableParallelization = true)]
public sealed class SqlitePreparedCommandCollection;
