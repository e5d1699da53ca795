using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmsActivities.Vendors;

namespace SmsActivities.Hosting;

/// <summary>
/// Does at start what the first send would otherwise pay for inside a caller's run: the phone number library's
/// metadata and rules (loaded and compiled on first use) and each configured vendor's client (its HTTP client and
/// resilience pipeline built). It starts before the other hosted services, runs beside their start (migrations), is
/// waited for before the host reports started, and never fails the start: a part that fails is only paid for by the
/// first send.
/// </summary>
internal sealed class SmsWarmupService(IServiceProvider services, ILogger<SmsWarmupService> logger) : IHostedLifecycleService
{
    private Task _warm = Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _warm = Task.Run(Warm, cancellationToken);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => _warm.WaitAsync(cancellationToken);

    private void Warm()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            PhoneNumber.TryParse("+8613900000000", out _, out _);
            using var scope = services.CreateScope();
            foreach (var sender in scope.ServiceProvider.GetServices<ISmsSender>()) GC.KeepAlive(sender);
            logger.LogDebug("Warmed the SMS plug-in in {Milliseconds} ms.", clock.ElapsedMilliseconds);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Warming the SMS plug-in at start failed; the first send pays for it instead.");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
