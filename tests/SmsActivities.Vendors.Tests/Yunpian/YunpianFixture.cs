using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Vendors.Tests.Yunpian;

/// <summary>The real DI registration (typed client + retry pipeline) pointed at the loopback emulator.</summary>
internal static class YunpianFixture
{
    public static ServiceProvider Services(EmulatorHost host, CapturingLoggerProvider? logs = null, IDictionary<string, string?>? overrides = null) =>
        VendorServices.Build(VendorServices.Sandbox(VendorNames.Yunpian, host.BaseUrlFor(VendorNames.Yunpian)),
            (services, config) => services.AddYunpian(config.GetSection("Vendors:Yunpian")), overrides, logs);
}
