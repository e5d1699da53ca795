using Microsoft.Extensions.Logging;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Workflows.Tests;

/// <summary>A clock that runs in real time plus an offset the test can move forward (to make timers fall due).</summary>
public sealed class ShiftableTimeProvider : TimeProvider
{
    private TimeSpan _offset;
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + _offset;
    public void Advance(TimeSpan by) => _offset += by;
}

/// <summary>A real host (background service included) on a SQLite file; several hosts may share one file in turn.</summary>
public sealed class TestHost : IAsyncDisposable
{
    private readonly IHost _host;
    public StringWriter Console { get; } = new();

    private TestHost(IHost host, StringWriter console)
    {
        _host = host;
        Console = console;
    }

    public static Task<TestHost> StartAsync(string databasePath, ShiftableTimeProvider? time = null, Action<WorkflowRuntimeOptions>? configure = null,
        Action<IServiceCollection>? configureServices = null) =>
        StartAsync(o => o.UseSqlite(databasePath), time, configure, configureServices);

    public static Task<TestHost> StartAsync(TestStore store, ShiftableTimeProvider? time = null, Action<WorkflowRuntimeOptions>? configure = null,
        Action<IServiceCollection>? configureServices = null) =>
        StartAsync(o => o.UseDatabase(store.Settings), time, configure, configureServices);

    private static async Task<TestHost> StartAsync(Action<WorkflowRuntimeOptions> database, ShiftableTimeProvider? time, Action<WorkflowRuntimeOptions>? configure,
        Action<IServiceCollection>? configureServices)
    {
        var console = new StringWriter();
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .ConfigureServices(services =>
            {
                services.AddSingleton(new WorkflowConsole(console));
                if (time != null) services.AddSingleton<TimeProvider>(time);
                services.AddWorkflowRuntime(o =>
                {
                    database(o);
                    o.PollInterval = TimeSpan.FromMilliseconds(50);
                    o.LeaseWaitTimeout = TimeSpan.FromSeconds(5);
                    configure?.Invoke(o);
                });
                configureServices?.Invoke(services);
            })
            .Build();
        await host.StartAsync();
        return new TestHost(host, console);
    }

    public IServiceProvider Services => _host.Services;
    public WorkflowRuntime Runtime => Services.GetRequiredService<WorkflowRuntime>();
    public WorkflowDefinitionService Definitions => Services.GetRequiredService<WorkflowDefinitionService>();
    public WorkflowInstanceStore Instances => Services.GetRequiredService<WorkflowInstanceStore>();

    /// <summary>Saves and publishes a flowchart given as Elsa JSON fragments; fails the test on validation errors.</summary>
    public async Task PublishAsync(string definitionId, string activities, string connections = "[]", string variables = "[]")
    {
        var result = await Definitions.SaveAsync(Flowchart(definitionId, activities, connections, variables), publish: true);
        Assert.Empty(result.ValidationErrors);
    }

    public static WorkflowDefinition Flowchart(string definitionId, string activities, string connections = "[]", string variables = "[]") =>
        WorkflowJson.Deserialize(
            $"{{\"definitionId\":\"{definitionId}\",\"name\":\"{definitionId}\",\"variables\":{variables}," +
            $"\"root\":{{\"id\":\"Flowchart1\",\"type\":\"Elsa.Flowchart\",\"activities\":{activities},\"connections\":{connections}}}}}");

    public async Task<WorkflowState> WaitForAsync(string instanceId, Func<WorkflowState, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var state = await Instances.GetStateAsync(instanceId);
            if (state != null && condition(state)) return state;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Instance {instanceId} did not reach the expected state; last: {state?.SubStatus}.");
            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>A temporary folder with a SQLite file, removed after the test.</summary>
public sealed class TempDatabase : IDisposable
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("wf-test-").FullName;
    public string Path => System.IO.Path.Combine(Folder, "workflows.db");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// A database of either provider for tests that run on both: a SQLite file in a temp folder, or a fresh database on
/// the test PostgreSQL server. Removed after the test.
/// </summary>
public sealed class TestStore : IAsyncDisposable
{
    public const string Sqlite = "Sqlite";
    public const string PostgreSql = "PostgreSql";

    /// <summary>The providers, for <c>[MemberData]</c>.</summary>
    public static TheoryData<string> Providers => new() { Sqlite, PostgreSql };

    private readonly TempDatabase? _file;

    private TestStore(DatabaseSettings settings, TempDatabase? file)
    {
        Settings = settings;
        _file = file;
    }

    public DatabaseSettings Settings { get; }

    public static async Task<TestStore> CreateAsync(string provider)
    {
        if (provider == Sqlite)
        {
            var file = new TempDatabase();
            return new TestStore(new DatabaseSettings(DatabaseProvider.Sqlite, $"Data Source={file.Path};Pooling=True"), file);
        }
        return new TestStore(new DatabaseSettings(DatabaseProvider.PostgreSql, await SmsActivities.Tests.Shared.PostgresServer.CreateDatabaseAsync("wf")), null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_file is not null) _file.Dispose();
        else await SmsActivities.Tests.Shared.PostgresServer.DropDatabaseAsync(Settings.ConnectionString);
    }
}

/// <summary>Elsa JSON fragments for tests.</summary>
public static class J
{
    public static string Lit(string value) => Wrap("String", "Literal", value);
    public static string Js(string script) => Wrap("Object", "JavaScript", script);

    private static string Wrap(string typeName, string type, string value) => new JsonObject
    {
        ["typeName"] = typeName,
        ["expression"] = new JsonObject { ["type"] = type, ["value"] = value },
        ["memoryReference"] = null,
    }.ToJsonString();
    public static string Conn(string from, string to, string port = "Done") => $$"""{"source":{"activity":"{{from}}","port":"{{port}}"},"target":{"activity":"{{to}}","port":"In"},"vertices":[]}""";
    public static string Act(string id, string type, string extra = "") =>
        $"{{\"id\":\"{id}\",\"type\":\"{type}\",\"version\":1" + (extra.Length > 0 ? "," + extra : "") + "}";
    public static string Arr(params string[] items) => "[" + string.Join(",", items) + "]";
}
