using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Vendors.Tests.Tencent;

/// <summary>The emulators on loopback plus a Tencent client registered as a host does (<c>AddSmsVendors</c>), with every log line captured.</summary>
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

    /// <param name="settings">Overrides, keys relative to <c>Vendors:Tencent</c>.</param>
    public static async Task<TencentTestBed> StartAsync(IDictionary<string, string?>? settings = null, TimeProvider? clientTime = null)
    {
        var host = await EmulatorHost.StartAsync();
        host.Set.Clock.Scale = 0.001;
        var logs = new CapturingLoggerProvider();
        var services = VendorServices.ForVendor(VendorNames.Tencent, host.BaseUrlFor(VendorNames.Tencent),
            settings?.ToDictionary(kv => "Vendors:Tencent:" + kv.Key, kv => kv.Value), logs, clientTime);
        return new TencentTestBed(host, services, logs);
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Host.DisposeAsync();
    }
}
