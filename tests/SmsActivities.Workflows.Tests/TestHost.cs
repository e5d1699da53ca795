using Microsoft.Extensions.Logging;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Model;
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

    public static async Task<TestHost> StartAsync(string databasePath, ShiftableTimeProvider? time = null, Action<WorkflowRuntimeOptions>? configure = null,
        Action<IServiceCollection>? configureServices = null)
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
                    o.UseSqlite(databasePath);
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
