using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace SmsActivities.Server.Hosting;

/// <summary>
/// ASP.NET's forwarded-headers handling, restricted to <see cref="ServerOptions.TrustedProxies"/>. Its defaults trust
/// loopback, which would let any local caller (or a proxy passing headers through unchecked) choose its address; here
/// only the configured proxies count.
/// </summary>
internal static class TrustedProxies
{
    public static IServiceCollection AddTrustedProxies(this IServiceCollection services, ServerOptions options)
    {
        var proxies = new List<IPAddress>();
        var networks = new List<System.Net.IPNetwork>();
        foreach (var entry in options.TrustedProxies.Select(p => p.Trim()).Where(p => p.Length > 0))
        {
            if (entry.Contains('/', StringComparison.Ordinal))
            {
                if (!System.Net.IPNetwork.TryParse(entry, out var network))
                    throw new InvalidOperationException($"Server:TrustedProxies: '{entry}' is not a network in CIDR form (e.g. 10.0.0.0/8).");
                networks.Add(network);
            }
            else
            {
                if (!IPAddress.TryParse(entry, out var address))
                    throw new InvalidOperationException($"Server:TrustedProxies: '{entry}' is not an IP address.");
                proxies.Add(address);
            }
        }
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            // With both lists empty the middleware would believe every sender: with no proxy configured it is off.
            o.ForwardedHeaders = proxies.Count + networks.Count > 0 ? ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto : ForwardedHeaders.None;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var proxy in proxies) o.KnownProxies.Add(proxy);
            foreach (var network in networks) o.KnownIPNetworks.Add(network);
            // A chain of trusted proxies is walked back to the first address none of them vouches for.
            o.ForwardLimit = null;
        });
        return services;
    }
}
