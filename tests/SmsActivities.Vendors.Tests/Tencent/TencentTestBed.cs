using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Emulators;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Vendors.Tests.Tencent;

/// <summary>The emulators on loopback plus a Tencent client built through <c>AddTencent</c>, with every log line captured.</summary>
internal sealed class TencentTestBed : IAsyncDisposable
{
    private TencentTestBed(EmulatorHost host, ServiceProvider services, CapturingLoggerProvider logs)
    {
        Host = host;
        Services = services;
        Logs = logs;
    }

    public EmulatorHost Host { get; }
    public ServiceProvider Services { get; }
    public CapturingLoggerProvider Logs { get; }
    public TencentEmulator Emulator => Host.Set.Tencent;
    public TencentSmsClient Client => Services.GetRequiredService<TencentSmsClient>();
    public TencentSmsSender Sender => Services.GetRequiredService<TencentSmsSender>();

    public IReadOnlyList<RecordedRequest> Calls(string api) => Host.Set.Requests.For(VendorNames.Tencent, "/" + api);

    public static async Task<TencentTestBed> StartAsync(IDictionary<string, string?>? settings = null, TimeProvider? clientTime = null)
    {
        var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        var values = new Dictionary<string, string?>
        {
            ["Vendors:Tencent:BaseUrl"] = host.BaseUrlFor(VendorNames.Tencent).ToString(),
            ["Vendors:Tencent:SdkAppId"] = TencentEmulator.SandboxSdkAppId,
            ["Vendors:Tencent:AppKey"] = TencentEmulator.SandboxAppKey,
            ["Vendors:Tencent:MaxRetryAttempts"] = "2",
            ["Vendors:Tencent:RetryBaseDelay"] = "00:00:00.001",
            ["Vendors:Tencent:AttemptTimeout"] = "00:00:15",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) values["Vendors:Tencent:" + key] = value;

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        if (clientTime is not null) services.AddSingleton(clientTime);
        services.AddTencent(configuration.GetSection("Vendors:Tencent"));
        return new TencentTestBed(host, services.BuildServiceProvider(validateScopes: true), logs);
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Host.DisposeAsync();
    }
}

/// <summary>A clock some minutes off the real one, to step out of Tencent's 10-minute window.</summary>
internal sealed class SkewedTime(TimeSpan skew) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + skew;
}

internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{category} {formatter(state, exception)} {exception}");
    }
}

/// <summary>A loopback endpoint that takes pushes and answers with <see cref="Answer"/>.</summary>
internal sealed class PushReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, string Body)> _received = new();

    private PushReceiver(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;
    public string Answer { get; set; } = TencentAcknowledgement.Body;
    public IReadOnlyList<(string Path, string Body)> Received => _received.ToArray();

    public static async Task<PushReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var receiver = new PushReceiver(builder.Build());
        receiver._app.MapPost("/{**path}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            receiver._received.Enqueue((context.Request.Path.Value ?? string.Empty, await reader.ReadToEndAsync(context.RequestAborted)));
            return Results.Text(receiver.Answer, "application/json");
        });
        await receiver._app.StartAsync();
        var address = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.BaseUrl = new Uri(address.TrimEnd('/') + "/");
        return receiver;
    }

    public Uri Url(string path) => new(BaseUrl, path);

    public async Task<IReadOnlyList<string>> WaitForAsync(string path, int count, int timeoutMs = 5000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (DateTime.UtcNow < deadline)
        {
            var bodies = Received.Where(r => r.Path == path).Select(r => r.Body).ToArray();
            if (bodies.Length >= count) return bodies;
            await Task.Delay(10);
        }
        throw new TimeoutException($"{count} pushes to {path} did not arrive");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
