using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmsActivities.Server.Hosting;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>
/// The real server, composed exactly as <c>Program</c> does, on a real Kestrel port on 127.0.0.1 (port 0 = a free
/// one), with its own temporary data folder. Sandbox mode and the default API key, as with no configuration.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServerHost(WebApplication app, Uri baseAddress, string dataDirectory)
    {
        _app = app;
        BaseAddress = baseAddress;
        DataDirectory = dataDirectory;
    }

    public Uri BaseAddress { get; }

    public string DataDirectory { get; }

    public IServiceProvider Services => _app.Services;

    public string ApiKey => ServerOptions.SandboxApiKey;

    /// <summary>
    /// The suite starts a server (or a server process) per test and never measures a first request: the start-up
    /// warm-up would cost every start its work and win nothing. A test's own settings may turn it back on.
    /// </summary>
    internal static readonly KeyValuePair<string, string?> NoWarmUp = new("Workflows:Runtime:WarmUpOnStart", "false");

    /// <param name="configureServices">Runs after the server's own registrations (e.g. a fake <see cref="TimeProvider"/>, a test's telemetry exporter).</param>
    public static async Task<ServerHost> StartAsync(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "smsactivities-tests", Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production, // sandbox mode must work without Development
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Server:DataDirectory"] = dataDirectory, [NoWarmUp.Key] = NoWarmUp.Value });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Services.AddSmsActivitiesServer(builder.Configuration, builder.Environment);
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseSmsActivitiesServer();
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServerHost(app, new Uri(address.TrimEnd('/') + "/"), dataDirectory);
    }

    public HttpClient CreateClient(bool withApiKey = true)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (withApiKey) client.DefaultRequestHeaders.Add("Authorization", "ApiKey " + ApiKey);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp folder is cleaned by the OS.
        }
    }
}
