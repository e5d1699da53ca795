namespace SmsActivities.Server.Hosting;

/// <summary>Finds the folder of sample workflow definitions to load at start.</summary>
public static class WorkflowsFolder
{
    public static string? Resolve(ServerOptions options, IHostEnvironment environment)
    {
        if (!string.IsNullOrWhiteSpace(options.WorkflowsFolder)) return Path.GetFullPath(options.WorkflowsFolder);
        foreach (var start in new[] { environment.ContentRootPath, Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "SmsActivities.sln")))
                {
                    var folder = Path.Combine(dir.FullName, "workflows");
                    return Directory.Exists(folder) ? folder : null;
                }
            }
        }
        return null;
    }
}
