using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Workflows.Hosting;

/// <summary>Runs <see cref="WorkflowRetention"/> every <see cref="WorkflowRetentionOptions.Interval"/> (on the injected clock).</summary>
internal sealed class RetentionService(WorkflowRetention retention, IOptions<WorkflowRetentionOptions> options, TimeProvider time, ClusterLeadership leadership,
    ILogger<RetentionService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            do
            {
                try
                {
                    if (!await leadership.IsLeaderAsync("workflows-retention", stoppingToken)) continue;
                    var purged = await retention.PurgeAsync(stoppingToken);
                    if (purged.Instances + purged.AbandonedInstances + purged.StimulusInputs + purged.AlterationPlans > 0)
                        logger.LogInformation("Retention: deleted {Instances} finished and {Abandoned} abandoned instances and {Plans} completed alteration plans, blanked {Inputs} served stimulus inputs.",
                            purged.Instances, purged.AbandonedInstances, purged.AlterationPlans, purged.StimulusInputs);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Retention purge failed; trying again next interval.");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
