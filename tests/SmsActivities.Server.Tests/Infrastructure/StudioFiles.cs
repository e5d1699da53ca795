using Microsoft.Extensions.Hosting.Internal;
using SmsActivities.Server.Hosting;
using SmsActivities.Server.Studio;

namespace SmsActivities.Server.Tests.Infrastructure;

public static class StudioFiles
{
    /// <summary>The unpacked npm package the server build installed.</summary>
    public static string PackageDirectory { get; } =
        StudioHosting.ResolvePackageDirectory(new ServerOptions(), new HostingEnvironment { ContentRootPath = AppContext.BaseDirectory })
        ?? throw new InvalidOperationException("Elsa Studio package not installed (build src/SmsActivities.Server)");
}
