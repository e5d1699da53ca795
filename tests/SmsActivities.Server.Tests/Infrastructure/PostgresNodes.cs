using Npgsql;
using SmsActivities.Sandbox;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>
/// Server processes on one new PostgreSQL database, each with its own data folder and the same settings (the vendor
/// emulators, which run in the test process, an API key, the webhook token), the way nodes behind a load balancer run.
/// </summary>
public sealed class PostgresNodes : IAsyncDisposable
{
    public const string ApiKey = "two-node-test-api-key";

    private readonly string _folder;
    private readonly List<ServerProcess> _nodes = [];
    private readonly List<HttpClient> _clients = [];

    private PostgresNodes(string folder, string database, SandboxVendors vendors, Dictionary<string, string?> settings)
    {
        _folder = folder;
        Database = database;
        Vendors = vendors;
        Settings = settings;
    }

    /// <summary>The connection string of the nodes' database.</summary>
    public string Database { get; }

    public SandboxVendors Vendors { get; }

    public Dictionary<string, string?> Settings { get; }

    public IReadOnlyList<ServerProcess> Nodes => _nodes;

    /// <summary>An API client per node, in the order of <see cref="Nodes"/>.</summary>
    public IReadOnlyList<HttpClient> Clients => _clients;

    public string WorkflowsFolder => Path.Combine(_folder, "workflows");

    /// <param name="workflows">File name → definition JSON, loaded by every node.</param>
    /// <param name="settings">Settings of every node beyond the shared ones.</param>
    public static async Task<PostgresNodes> CreateAsync(string name, IReadOnlyDictionary<string, string> workflows, IReadOnlyDictionary<string, string?>? settings = null,
        double emulatorTimeScale = 0.05)
    {
        var folder = Directory.CreateTempSubdirectory($"smsactivities-{name}-").FullName;
        Directory.CreateDirectory(Path.Combine(folder, "workflows"));
        foreach (var (file, json) in workflows) await File.WriteAllTextAsync(Path.Combine(folder, "workflows", file), json);
        var vendors = await SandboxVendors.StartAsync(timeScale: emulatorTimeScale);
        var database = await SmsActivities.Tests.Shared.PostgresServer.CreateDatabaseAsync(name);
        var all = new Dictionary<string, string?>(vendors.Settings)
        {
            ["Server:Sandbox"] = "false",
            ["Server:ApiKey"] = ApiKey,
            ["ConnectionStrings:Workflows"] = database,
            ["Server:KeysDirectory"] = Path.Combine(folder, "keys"), // one key ring, as deployed nodes share it
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) all[key] = value;
        return new PostgresNodes(folder, database, vendors, all);
    }

    /// <summary>Starts <paramref name="count"/> more nodes and waits until each answers.</summary>
    public async Task StartNodesAsync(int count)
    {
        // One after the other: the first applies the migrations, the others find them applied.
        for (var i = 0; i < count; i++)
        {
            var node = ServerProcess.Start(ServerProcess.FreePort(), Path.Combine(_folder, $"data-{_nodes.Count}"), WorkflowsFolder, Settings);
            _nodes.Add(node);
            _clients.Add(await node.ClientWhenReadyAsync(ApiKey));
        }
    }

    /// <summary>A single number from the nodes' database.</summary>
    public async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Rows of two columns (a key and a count) from the nodes' database, as text for messages and checks.</summary>
    public async Task<Dictionary<string, long>> CountsAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var counts = new Dictionary<string, long>();
        while (await reader.ReadAsync()) counts[reader.IsDBNull(0) ? "" : reader.GetValue(0).ToString()!] = Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture);
        return counts;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients) client.Dispose();
        foreach (var node in _nodes) node.Dispose();
        await Vendors.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await SmsActivities.Tests.Shared.PostgresServer.DropDatabaseAsync(Database);
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
