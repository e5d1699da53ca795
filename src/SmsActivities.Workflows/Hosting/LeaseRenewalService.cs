using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Workflows.Hosting;

/// <summary>
/// Renews this process's leases and claims every third of <see cref="WorkflowRuntimeOptions.LeaseDuration"/> or
/// <see cref="WorkflowRuntimeOptions.ClaimDuration"/> (the shorter), on its own loop so that a long run (which may hold
/// up the runtime's background pass) never lets its own lease lapse.
/// </summary>
internal sealed class LeaseRenewalService(LeaseRenewer leases, TimeProvider time, ILogger<LeaseRenewalService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(leases.RenewalInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await leases.RenewAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Renewing workflow instance leases failed; trying again on the next tick.");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
