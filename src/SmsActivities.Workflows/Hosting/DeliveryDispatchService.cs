using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Workflows.Hosting;

/// <summary>
/// The dispatcher: runs due deliveries in batches of <see cref="WorkflowRuntimeOptions.DispatchBatchSize"/>, woken by
/// accepted stimuli (after <see cref="WorkflowRuntimeOptions.DispatchDelay"/>) or every poll interval for retries and
/// crash leftovers.
/// </summary>
internal sealed class DeliveryDispatchService(
    PendingDeliveryProcessor pending,
    DispatchSignal signal,
    IOptions<WorkflowRuntimeOptions> options,
    TimeProvider time,
    ILogger<DeliveryDispatchService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = Math.Max(1, options.Value.DispatchBatchSize);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // The gathering delay is wall-clock on purpose: it batches real arrivals, and a test's manual clock must not stall it.
                if (await signal.WaitAsync(options.Value.PollInterval, stoppingToken) && options.Value.DispatchDelay > TimeSpan.Zero)
                    await Task.Delay(options.Value.DispatchDelay, stoppingToken);
                while (await pending.ProcessAsync(batch, stoppingToken) == batch) { }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Delivery dispatch pass failed; retrying.");
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
        }
    }
}
