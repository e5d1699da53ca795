using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;

namespace SmsActivities.Vendors.Tests.Yunpian;

/// <summary>The real DI registration (typed client + retry pipeline) pointed at the loopback emulator.</summary>
internal static class YunpianFixture
{
    public static ServiceProvider Services(EmulatorHost host, CapturingLoggerProvider? logs = null, IDictionary<string, string?>? overrides = null) =>
        VendorServices.ForVendor(VendorNames.Yunpian, host.BaseUrlFor(VendorNames.Yunpian), overrides, logs);
}
