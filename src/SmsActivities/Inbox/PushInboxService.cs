using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmsActivities.Inbox;

/// <summary>
/// Runs the push inbox: woken by each stored push (after <see cref="PushInboxOptions.MaxDelay"/>, so pushes arriving
/// together share a batch) and every <see cref="PushInboxOptions.PollInterval"/> for pushes stored by other nodes, left
/// by a crash or due again after a failure. Drains the inbox in batches before it waits again.
/// </summary>
internal sealed class PushInboxService(
    PushInboxProcessor processor,
    PushInboxSignal signal,
    IOptions<PushInboxOptions> options,
    ILogger<PushInboxService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var woken = true; // what a previous process left is run at start
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // Wall-clock on purpose: it gathers real arrivals, and a test's manual clock must not stall it.
                if (woken && options.Value.MaxDelay > TimeSpan.Zero)
                    await Task.Delay(options.Value.MaxDelay, stoppingToken).ConfigureAwait(false);
                while (await processor.ProcessAsync(stoppingToken).ConfigureAwait(false) == options.Value.BatchSize) { }
                woken = await signal.WaitAsync(options.Value.PollInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The claim failed or could not be ended: its rows are still there and run again.
                logger.LogError(e, "Push inbox pass failed; retrying");
                woken = await signal.WaitAsync(options.Value.PollInterval, stoppingToken).ConfigureAwait(false);
            }
        }
    }
}
