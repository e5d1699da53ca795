using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Inbox;
using SmsActivities.Persistence;
using SmsActivities.Stimuli;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Hosting;

/// <summary>
/// Does before the host reports started what the first send and the first pushes would otherwise pay for while a caller
/// or a vendor waits: the phone number library's metadata and rules (loaded and compiled on first use), each configured
/// vendor's client (its own warm-up, <see cref="IVendorWarmup"/>: a send through its HTTP client and resilience pipeline
/// answered in-process), each webhook reader's parsing, the push inbox's JSON, insert and delete
/// (<see cref="PushInbox.WarmAsync"/>), a send's record writes and its report's (<see cref="SendRecordStore.WarmAsync"/>) and a
/// report batch's reads (<see cref="SmsStimulusPublisher.WarmAsync"/>); the runtime's side of a report (accept, resume, group
/// commit) is rehearsed by the runtime's warm-up. What
/// needs no database starts first and runs beside the other services' start (migrations); the writes wait until they
/// have started, when the plug-in's tables exist. One policy for every
/// part: a part that fails is logged as a warning and paid for by the first request instead; it never fails the start.
/// Off with the runtime's warm-up (<see cref="WorkflowRuntimeOptions.WarmUpOnStart"/>).
/// </summary>
internal sealed class SmsWarmup(IServiceProvider services, PushInbox inbox, SendRecordStore sendRecords, SmsStimulusPublisher publisher, IOptions<WorkflowRuntimeOptions> runtime,
    ILogger<SmsWarmup> logger) : IHostedLifecycleService
{
    /// <summary>A body every reader refuses: its parsing runs, nothing is read.</summary>
    private static readonly byte[] RefusedPush = Encoding.UTF8.GetBytes("[{}]");

    private Task _code = Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        if (!runtime.Value.WarmUpOnStart) return Task.CompletedTask;
        _code = Task.Run(() => Task.WhenAll(
            services.GetServices<IWebhookReader>().Select(reader => GuardedAsync($"{reader.Vendor} {reader.Kind} reader", () => WarmReader(reader)))), cancellationToken);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        if (!runtime.Value.WarmUpOnStart) return;
        await GuardedAsync("push inbox", () => inbox.WarmAsync(cancellationToken)).ConfigureAwait(false);
        await GuardedAsync("send records", () => sendRecords.WarmAsync(cancellationToken)).ConfigureAwait(false);
        await GuardedAsync("report reads", () => publisher.WarmAsync(cancellationToken)).ConfigureAwait(false);
        // Once the server listens: in sandbox mode the vendor clients' requests are turned to the server's own address first.
        await GuardedAsync("phone numbers and vendor clients", () => WarmSendersAsync(cancellationToken)).ConfigureAwait(false);
        await _code.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task GuardedAsync(string what, Func<Task> warm)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await warm().ConfigureAwait(false);
            logger.LogDebug("Warmed the SMS plug-in's {What} in {Milliseconds} ms.", what, clock.ElapsedMilliseconds);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Warming the SMS plug-in's {What} at start failed; the first requests pay for it instead.", what);
        }
    }

    private Task GuardedAsync(string what, Action warm) => GuardedAsync(what, () =>
    {
        warm();
        return Task.CompletedTask;
    });

    /// <summary>Each vendor's own warm-up (<see cref="IVendorWarmup"/>: its send path answered in-process), one after another.</summary>
    private async Task WarmSendersAsync(CancellationToken cancellationToken)
    {
        PhoneNumber.TryParse("+8613900000000", out _, out _);
        using var scope = services.CreateScope();
        foreach (var sender in scope.ServiceProvider.GetServices<ISmsSender>()) GC.KeepAlive(sender);
        foreach (var vendor in scope.ServiceProvider.GetServices<IVendorWarmup>())
            await GuardedAsync($"{vendor.Vendor} client", () => vendor.WarmAsync(cancellationToken)).ConfigureAwait(false);
    }

    /// <summary>A reader that throws here has the bug the endpoint would answer with a 400; this finds it first.</summary>
    private static void WarmReader(IWebhookReader reader)
    {
        var empty = new Dictionary<string, string>();
        reader.Read(new WebhookRequest("POST", "application/json", RefusedPush, empty, empty));
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
