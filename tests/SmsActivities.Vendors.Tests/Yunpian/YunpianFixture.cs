using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Emulators;
using SmsActivities.Emulators.Yunpian;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Vendors.Tests.Yunpian;

/// <summary>The real DI registration (typed client + retry pipeline) pointed at the loopback emulator.</summary>
internal static class YunpianFixture
{
    public static ServiceProvider Services(EmulatorHost host, CapturingLoggerProvider? logs = null, IDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Vendors:Yunpian:ApiKey"] = YunpianEmulator.SandboxApiKey,
            ["Vendors:Yunpian:BaseUrl"] = host.BaseUrlFor(VendorNames.Yunpian).AbsoluteUri,
            ["Vendors:Yunpian:RetryBaseDelay"] = "00:00:00.010",
            ["Vendors:Yunpian:AttemptTimeout"] = "00:00:02",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>()) settings[key] = value;
        var config = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null) b.AddProvider(logs);
        });
        services.AddYunpian(config.GetSection("Vendors:Yunpian"));
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public static IReadOnlyList<PhoneNumber> Numbers(int count, string prefix = "139") =>
        Enumerable.Range(0, count).Select(i => PhoneNumber.Parse($"{prefix}{i:D8}")).ToArray();

    /// <summary>The form fields of a recorded request.</summary>
    public static Dictionary<string, string> Form(RecordedRequest request) =>
        request.Body.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0].Replace('+', ' ')), p => Uri.UnescapeDataString(p[1].Replace('+', ' ')));
}
