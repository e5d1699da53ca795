using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmsActivities.Emulators;
using SmsActivities.Server.Hosting;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.Tests.Samples;

/// <summary>Real time plus an offset a test can move forward: timers and code expiry see the jump, real delays still run.</summary>
public sealed class ShiftableTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}

/// <summary>
/// The server composed exactly as <c>Program</c> does, with no configuration beyond its own data folder: sandbox mode,
/// the repository's <c>workflows/*.json</c>, the code-first samples, on a real loopback port, so every call to a
/// vendor and every push back goes over HTTP. Only the clock is shiftable.
/// </summary>
public sealed class SandboxServer : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly WebApplication _app;
    private readonly string _dataDirectory;
    private readonly bool _ownsDataDirectory;

    private SandboxServer(WebApplication app, Uri baseAddress, string dataDirectory, bool ownsDataDirectory, ShiftableTimeProvider time)
    {
        _app = app;
        _dataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        Time = time;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = Patience };
    }

    public HttpClient Http { get; }

    public ShiftableTimeProvider Time { get; }

    public EmulatorSet Emulators => _app.Services.GetRequiredService<EmulatorSet>();

    public WorkflowInstanceStore Instances => _app.Services.GetRequiredService<WorkflowInstanceStore>();

    public IServiceProvider Services => _app.Services;

    /// <summary>The folder of the server's SQLite files.</summary>
    public string DataDirectory => _dataDirectory;

    /// <param name="settings">
    /// Configuration on top of the defaults, e.g. a vendor's attempt timeout or lower OTP limits. A caller that sets
    /// <c>Server:DataDirectory</c> owns that folder (it is left in place on dispose).
    /// </param>
    public static async Task<SandboxServer> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var given = settings?.GetValueOrDefault("Server:DataDirectory");
        var dataDirectory = given ?? Path.Combine(Path.GetTempPath(), "smsactivities-tests", Guid.NewGuid().ToString("N"));
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Server:DataDirectory"] = dataDirectory });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("SANDBOX_LOG") == "1") builder.Logging.AddConsole();
        builder.Services.AddSmsActivitiesServer(builder.Configuration, builder.Environment);
        var time = new ShiftableTimeProvider();
        builder.Services.AddSingleton<TimeProvider>(time);
        var app = builder.Build();
        app.UseSmsActivitiesServer();
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SandboxServer(app, new Uri(address.TrimEnd('/') + "/"), dataDirectory, ownsDataDirectory: given is null, time);
    }

    public async Task<(HttpResponseMessage Response, JsonNode? Body)> PostAsync(string path, object body)
    {
        var response = await Http.PostAsJsonAsync(path.TrimStart('/'), body).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        return (response, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Polls until <paramref name="probe"/> returns a value, or fails the test with <paramref name="what"/>.</summary>
    public static async Task<T> EventuallyAsync<T>(string what, Func<Task<T?>> probe, TimeSpan? timeout = null) where T : class
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (true)
        {
            if (await probe().ConfigureAwait(false) is { } value) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Timed out waiting for " + what);
            await Task.Delay(50).ConfigureAwait(false);
        }
    }

    public static Task<T> EventuallyAsync<T>(string what, Func<T?> probe, TimeSpan? timeout = null) where T : class =>
        EventuallyAsync(what, () => Task.FromResult(probe()), timeout);

    /// <summary>GETs <paramref name="path"/> until it answers 200 (an HttpEndpoint bookmark appears once the workflow gets there).</summary>
    public Task<JsonNode> GetWhenReadyAsync(string path) => EventuallyAsync($"GET {path} to answer 200", async () =>
    {
        using var response = await Http.GetAsync(path.TrimStart('/')).ConfigureAwait(false);
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync().ConfigureAwait(false)) : null;
    });

    public Task<WorkflowState> WaitForInstanceAsync(string instanceId, Func<WorkflowState, bool> condition, string what) =>
        EventuallyAsync(what, async () => await Instances.GetStateAsync(instanceId).ConfigureAwait(false) is { } state && condition(state) ? state : null);

    /// <summary>The instance id at the end of a URL the samples answer with (…/verify/{id}, …/{id}/summary).</summary>
    public static string InstanceIdIn(string url) =>
        url.Split('/', StringSplitOptions.RemoveEmptyEntries).First(s => Regex.IsMatch(s, "^[0-9a-fA-F-]{16,}$"));

    /// <summary>The one-time code in a message text, as a user reads it off the handset.</summary>
    public static string CodeIn(string text) => Regex.Match(text, @"\b\d{4,6}\b") is { Success: true } m ? m.Value : throw new InvalidOperationException("no code in the message");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (!_ownsDataDirectory) return;
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp folder is cleaned by the OS.
        }
    }
}
