using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace SmsActivities.Tests.Shared;

/// <summary>
/// The PostgreSQL server tests run against: the one <c>.ci/run</c> started (<c>SMS_TEST_POSTGRES</c>, a connection
/// string without a database), else a throwaway cluster started here on first use (<c>initdb</c> in a temp folder,
/// <c>pg_ctl start</c> on a free loopback port, run as the <c>postgres</c> user when the tests run as root) and removed
/// when the test process exits. Each test gets a database of its own. Shared by the runtime's, the plug-in's and the
/// server's tests. A missing PostgreSQL fails the tests that need it; nothing is skipped.
/// </summary>
internal static class PostgresServer
{
    public const string Variable = "SMS_TEST_POSTGRES";

    private static readonly Lazy<Task<string>> Server = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>A new empty database; the connection string names it.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var server = await Server.Value;
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)];
        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Database = "postgres", Pooling = false }.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabaseAsync"/>, closing what still uses it.</summary>
    public static async Task DropDatabaseAsync(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{builder.Database}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    private static async Task<string> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured) return configured;
        var bin = FindBin();
        var folder = Directory.CreateTempSubdirectory("sms-pg-").FullName;
        var data = Path.Combine(folder, "data");
        var asRoot = Environment.UserName == "root";
        if (asRoot) Run("chown", $"postgres \"{folder}\"", asPostgres: false);
        Run(Path.Combine(bin, "initdb"), $"-D \"{data}\" -A trust -U postgres --no-sync -E UTF8", asRoot);
        var port = FreePort();
        // fsync off: a test cluster that dies is thrown away anyway.
        Run(Path.Combine(bin, "pg_ctl"), $"-D \"{data}\" -l \"{Path.Combine(folder, "log")}\" -w -t 60 -o \"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300\" start", asRoot);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Run(Path.Combine(bin, "pg_ctl"), $"-D \"{data}\" -m immediate -w stop", asRoot); } catch (InvalidOperationException) { }
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        await Task.CompletedTask;
        return $"Host=127.0.0.1;Port={port};Username=postgres";
    }

    private static string FindBin()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(Directory.Exists("/usr/lib/postgresql")
                     ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin")) : []))
            if (File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl"))) return dir;
        throw new InvalidOperationException($"PostgreSQL tests need {Variable} or initdb and pg_ctl (PostgreSQL 15) on the PATH or under /usr/lib/postgresql.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Run(string file, string arguments, bool asPostgres)
    {
        var start = asPostgres ? new ProcessStartInfo("runuser", $"-u postgres -- {file} {arguments}") : new ProcessStartInfo(file, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = Path.GetTempPath();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000)) throw new InvalidOperationException($"{file} {arguments} did not finish in 2 minutes.");
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {arguments} exited {process.ExitCode}: {output.Result} {error.Result}");
    }
}
