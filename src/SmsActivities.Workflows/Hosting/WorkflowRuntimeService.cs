using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Workflows.Hosting;

/// <summary>
/// On start: schema, code-first workflows, the workflows folder, recovery of crashed instances, and, beside those,
/// warming what the first run needs (<see cref="RuntimeWarmup"/>). Then,
/// in the background: due timers, expired leases, expired inbox entries and alteration plans left unfinished by a
/// stopped node (pending deliveries are the
/// dispatcher's, see <see cref="DeliveryDispatchService"/>).
/// </summary>
internal sealed class WorkflowRuntimeService(
    WorkflowDefinitionService definitions,
    InstanceRecovery recovery,
    TimerScheduler timers,
    TimerSignal timerSignal,
    InboxPurger inbox,
    AlterationPlans alterationPlans,
    RuntimeWarmup warmup,
    IServiceProvider services,
    IOptions<WorkflowRuntimeOptions> options,
    TimeProvider time,
    ILogger<WorkflowRuntimeService> logger) : BackgroundService
{
    private const int Batch = 100;
    // Near timers stored meanwhile fold into one wake: a counting semaphore made the loop run one pass per timer.
    private readonly WakeSignal _wake = new();

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        options.Value.Validate();
        ReserveThreads(options.Value.MinThreadPoolThreads);
        var warmUp = options.Value.WarmUpOnStart;
        var warmCode = warmUp ? warmup.WarmCodeAsync(cancellationToken) : Task.CompletedTask;
        await WorkflowSchema.EnsureAsync(services, options.Value.MigrateOnStart, cancellationToken);
        foreach (var factory in options.Value.Workflows)
        {
            var builder = new WorkflowBuilder();
            factory(services).Build(builder);
            await definitions.RegisterCodeFirstAsync(builder.Build(), cancellationToken);
        }
        if (options.Value.WorkflowsFolder is { } folder)
        {
            var imported = await definitions.ImportFolderAsync(folder, cancellationToken);
            logger.LogInformation("Published {Count} workflow definitions from {Folder}.", imported.Published.Count, folder);
            foreach (var file in imported.Rejected)
                logger.LogError("Skipped workflow file {File}: {Errors}", file.File, string.Join(" | ", file.Errors));
        }
        var warmDefinitions = warmUp ? Task.WhenAll(warmup.WarmDefinitionsAsync(cancellationToken), warmup.WarmWritesAsync(cancellationToken)) : Task.CompletedTask;
        await recovery.RecoverAsync(cancellationToken);
        // Before the host reports started: what the first request needs is then ready.
        await Task.WhenAll(warmCode, warmDefinitions);
        timerSignal.Scheduled += OnTimerScheduled;
        if (options.Value.RunBackgroundService) await base.StartAsync(cancellationToken);
    }

    /// <summary>Raises the thread pool's minimum of worker threads to <paramref name="threads"/> (see <see cref="WorkflowRuntimeOptions.MinThreadPoolThreads"/>).</summary>
    private void ReserveThreads(int threads)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (threads <= workers) return;
        if (ThreadPool.SetMinThreads(threads, completionPorts)) logger.LogDebug("Thread pool: at least {Threads} worker threads kept ready (was {Before}).", threads, workers);
        else logger.LogWarning("Thread pool: could not keep {Threads} worker threads ready (Workflows:Runtime:MinThreadPoolThreads).", threads);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        timerSignal.Scheduled -= OnTimerScheduled;
        if (!options.Value.RunBackgroundService) return;
        await base.StopAsync(cancellationToken);
        // Background runs see the stopping token; they are waited for so none uses the services after they are disposed.
        await timers.WhenBackgroundIdleAsync().WaitAsync(cancellationToken);
    }

    private void OnTimerScheduled(DateTimeOffset dueAt)
    {
        if (dueAt - time.GetUtcNow() < options.Value.PollInterval) _wake.Wake();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await recovery.RecoverAsync(stoppingToken);
                while (await timers.ResumeDueAsync(Batch, stoppingToken) == Batch) { }
                await inbox.PurgeExpiredAsync(stoppingToken);
                await inbox.TrimUnmatchedAsync(stoppingToken);
                await alterationPlans.ResumeAbandonedAsync(stoppingToken);
                await WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Workflow background pass failed; retrying.");
                await Task.Delay(options.Value.PollInterval, time, stoppingToken);
            }
        }
    }

    /// <summary>Sleeps until the next timer or the poll interval, whichever is first; a newly stored near timer wakes it.</summary>
    private async Task WaitAsync(CancellationToken stoppingToken)
    {
        var delay = options.Value.PollInterval;
        if (await timers.NextDueAsync(stoppingToken) is { } next)
        {
            var untilNext = next - time.GetUtcNow();
            if (untilNext < delay) delay = untilNext < TimeSpan.Zero ? TimeSpan.Zero : untilNext;
        }
        if (delay > TimeSpan.Zero) await _wake.WaitAsync(delay, stoppingToken);
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }
}
