using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Emulators.Yaningai;
using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Vendors.Tests.Yaningai;

/// <summary>Builds the YANINGAI client the way a host would: configuration → AddYaningai → typed client with retries.</summary>
internal static class YaningaiTestKit
{
    /// <summary>A country the tests add to both sides' codeId tables.</summary>
    public const string IndonesiaCodeId = "10062";

    public static ServiceProvider Services(Uri baseUrl, IDictionary<string, string?>? overrides = null, TimeProvider? time = null, ILoggerProvider? logs = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Vendors:Yaningai:BaseUrl"] = baseUrl.ToString(),
            ["Vendors:Yaningai:Account"] = YaningaiEmulator.SandboxAccount,
            ["Vendors:Yaningai:ApiKey"] = YaningaiEmulator.SandboxApiKey,
            ["Vendors:Yaningai:RetryBaseDelay"] = "00:00:00.010",
            ["Vendors:Yaningai:AttemptTimeout"] = "00:00:05",
            ["Vendors:Yaningai:EmailFrom"] = "Acme",
            ["Vendors:Yaningai:CodeIds:62"] = IndonesiaCodeId,
        };
        // A null override removes the setting, as if the host had not configured it.
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            if (value is null) settings.Remove(key);
            else settings[key] = value;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(builder =>
        {
            builder.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null) builder.AddProvider(logs);
        });
        if (time is not null) services.AddSingleton(time);
        services.AddYaningai(configuration.GetSection("Vendors:Yaningai"));
        return services.BuildServiceProvider(validateScopes: true);
    }

    public static IReadOnlyList<PhoneNumber> Numbers(params string[] e164) => e164.Select(n => PhoneNumber.Parse(n)).ToArray();

    /// <summary>account/sign/datetime for a raw call, signed with the sandbox key.</summary>
    public static string AuthQuery(DateTimeOffset? at = null, string apiKey = YaningaiEmulator.SandboxApiKey)
    {
        var seconds = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        return $"account={YaningaiEmulator.SandboxAccount}&sign={YaningaiSigner.Sign(YaningaiEmulator.SandboxAccount, apiKey, seconds)}&datetime={seconds.ToString(CultureInfo.InvariantCulture)}";
    }
}

/// <summary>A clock shifted from real time, to send a datetime outside the vendor's window.</summary>
internal sealed class ShiftedTime(TimeSpan shift) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
}

/// <summary>Collects every log line, to prove no secret is logged.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue($"{category} {formatter(state, exception)} {exception}");
    }
}

/// <summary>A loopback endpoint that receives vendor pushes, answering 500 to the first <c>failFirst</c> of them.</summary>
internal sealed class PushReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, WebhookRequest Request)> _received = new();
    private int _failFirst;

    private PushReceiver(WebApplication app, int failFirst)
    {
        _app = app;
        _failFirst = failFirst;
    }

    public Uri BaseAddress { get; private set; } = null!;

    public Uri Url(string path) => new(BaseAddress, path);

    public static async Task<PushReceiver> StartAsync(int failFirst = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new PushReceiver(app, failFirst);
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            receiver._received.Enqueue((http.Request.Path.Value!, new WebhookRequest("POST", http.Request.ContentType, buffer.ToArray(),
                new Dictionary<string, string>(), new Dictionary<string, string>())));
            http.Response.StatusCode = Interlocked.Decrement(ref receiver._failFirst) >= 0 ? 500 : 200;
            await http.Response.WriteAsync("OK");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return receiver;
    }

    /// <summary>Waits (up to 10 s, for loaded machines) until <paramref name="count"/> pushes reached <paramref name="path"/>.</summary>
    public async Task<IReadOnlyList<WebhookRequest>> WaitForAsync(string path, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var got = _received.Where(r => r.Path == "/" + path).Select(r => r.Request).ToArray();
            if (got.Length >= count || DateTime.UtcNow > deadline) return got;
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
