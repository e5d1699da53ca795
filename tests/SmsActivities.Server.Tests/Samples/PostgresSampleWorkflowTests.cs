using System.Net;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Samples;

/// <summary>
/// The sample tests of <see cref="SampleWorkflowTests"/>, each on a server whose <c>ConnectionStrings:Workflows</c>
/// names a new, empty PostgreSQL database: the server creates both schemas, serves Studio, runs the sample, and writes
/// no SQLite file into its data folder or its content root.
/// </summary>
public sealed class PostgresSampleWorkflowTests : SampleWorkflowTests, IAsyncLifetime
{
    private readonly DateTime _started = DateTime.UtcNow;
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "smsactivities-tests", Guid.NewGuid().ToString("N"));
    private string? _database;
    private bool _serverStarted;

    protected override async Task<SandboxServer> StartServerAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        _database = await SmsActivities.Tests.Shared.PostgresServer.CreateDatabaseAsync("samples");
        var server = await SandboxServer.StartAsync(new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>())
        {
            ["ConnectionStrings:Workflows"] = _database,
            ["Server:DataDirectory"] = _dataDirectory,
        });
        await PostgresFootprint.AssertSchemaCreatedAsync(_database);
        using var studio = await server.Http.GetAsync("studio/");
        Assert.Equal(HttpStatusCode.OK, studio.StatusCode);
        Assert.Contains("text/html", studio.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        _serverStarted = true;
        return server;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        try
        {
            if (_serverStarted)
                Assert.Empty(PostgresFootprint.SqliteFilesWrittenSince(_started, _dataDirectory, AppContext.BaseDirectory));
        }
        finally
        {
            if (_database is not null) await SmsActivities.Tests.Shared.PostgresServer.DropDatabaseAsync(_database);
            try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { }
        }
    }
}
