using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Emulators;

namespace SmsActivities.Vendors.Tests.Yunpian;

/// <summary>Collects every log line at every level, so tests can check that no secret was written.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose() { }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{category}: {formatter(state, exception)} {exception}");
    }
}

/// <summary>A clock a test moves by hand (for vendors' time windows); timers still run in real time.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Builds a vendor's real DI registration from in-memory settings, logging everything to <c>logs</c>.</summary>
public static class VendorServices
{
    public static ServiceProvider Build(
        Dictionary<string, string?> settings,
        IDictionary<string, string?>? overrides,
        CapturingLoggerProvider? logs,
        Action<IServiceCollection, IConfiguration> register)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(register);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>()) settings[key] = value;
        var config = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null) b.AddProvider(logs);
        });
        register(services, config);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>The form fields of a recorded request.</summary>
    public static Dictionary<string, string> Form(RecordedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var form = System.Web.HttpUtility.ParseQueryString(request.Body);
        return form.AllKeys.OfType<string>().ToDictionary(k => k, k => form[k] ?? string.Empty);
    }
}
