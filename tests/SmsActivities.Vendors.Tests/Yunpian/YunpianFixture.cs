using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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
        return VendorServices.Build(settings, overrides, logs, (services, config) => services.AddYunpian(config.GetSection("Vendors:Yunpian")));
    }

    public static IReadOnlyList<PhoneNumber> Numbers(int count, string prefix = "139") =>
        Enumerable.Range(0, count).Select(i => PhoneNumber.Parse($"{prefix}{i:D8}")).ToArray();
}
