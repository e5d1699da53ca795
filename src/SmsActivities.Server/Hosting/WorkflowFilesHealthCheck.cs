using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.Hosting;

/// <summary>Degraded when a file of the workflows folder was skipped at start (its workflows are not running).</summary>
public sealed class WorkflowFilesHealthCheck(WorkflowDefinitionService definitions) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (definitions.LastFolderImport is not { Rejected.Count: > 0 } import)
            return Task.FromResult(HealthCheckResult.Healthy("Every workflow file loaded"));
        var data = import.Rejected.ToDictionary(r => Path.GetFileName(r.File), r => (object)string.Join(" | ", r.Errors));
        return Task.FromResult(HealthCheckResult.Degraded(
            "Skipped workflow files: " + string.Join(", ", import.Rejected.Select(r => Path.GetFileName(r.File))), data: data));
    }
}
