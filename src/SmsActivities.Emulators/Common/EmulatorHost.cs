using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SmsActivities.Emulators;

/// <summary>All four emulators on one loopback port, each under <c>/{vendor}/</c>. Used by tests and benchmarks.</summary>
public sealed class EmulatorHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmulatorHost(WebApplication app, EmulatorSet set, Uri baseAddress)
    {
        _app = app;
        Set = set;
        BaseAddress = baseAddress;
    }

    public EmulatorSet Set { get; }

    /// <summary>e.g. http://127.0.0.1:41234/</summary>
    public Uri BaseAddress { get; }

    /// <summary>The base URL a vendor client should be configured with, e.g. http://127.0.0.1:41234/yunpian/</summary>
    public Uri BaseUrlFor(string vendor) => new(BaseAddress, vendor + "/");

    /// <param name="url">Loopback URL to listen on; port 0 picks a free port.</param>
    public static async Task<EmulatorHost> StartAsync(string url = "http://127.0.0.1:0", TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var set = new EmulatorSet(time, app.Services.GetRequiredService<ILoggerFactory>());
        app.UseVendorEmulators(set);
        app.MapVendorEmulators(set);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EmulatorHost(app, set, new Uri(address.EndsWith('/') ? address : address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await Set.DisposeAsync().ConfigureAwait(false);
    }
}
