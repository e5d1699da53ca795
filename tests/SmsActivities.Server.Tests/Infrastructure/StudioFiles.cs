using Microsoft.Extensions.Hosting.Internal;
using SmsActivities.ElsaStudio;

namespace SmsActivities.Server.Tests.Infrastructure;

public static class StudioFiles
{
    /// <summary>The unpacked npm package the server build installed.</summary>
    public static string PackageDirectory { get; } =
        StudioHosting.ResolvePackageDirectory(null, new HostingEnvironment { ContentRootPath = AppContext.BaseDirectory })
        ?? throw new InvalidOperationException("Elsa Studio package not installed (build src/SmsActivities.ElsaStudio)");

    /// <summary>The repository's <c>workflows/</c> folder (the definition files the server publishes at start).</summary>
    public static string WorkflowsFolder { get; } = FindWorkflowsFolder();

    private static string FindWorkflowsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SmsActivities.sln"))) return Path.Combine(dir.FullName, "workflows");
        throw new DirectoryNotFoundException("workflows/ not found above the test assembly");
    }
}
