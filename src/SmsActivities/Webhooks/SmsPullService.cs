using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Hosting;
using SmsActivities.Inbox;
using SmsActivities.Vendors;

namespace SmsActivities.Webhooks;

/// <summary>
/// For deployments without a public URL: polls every registered <see cref="IReportPuller"/> and
/// <see cref="IReplyPuller"/> whose vendor is switched on under <c>SmsActivities:Pull:{vendor}</c>, and feeds what it
/// fetched into the same push inbox as the webhooks (same processor, stimuli, dedupe keys and opt-out handling). A vendor
/// counts what was pulled as delivered, so it is stored before the next pull.
/// </summary>
internal sealed class SmsPullService(
    IServiceProvider services,
    PushInbox inbox,
    IOptions<SmsActivitiesOptions> options,
    TimeProvider time,
    ClusterLeadership leadership,
    ILogger<SmsPullService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = new List<Task>();
        using (var scope = services.CreateScope())
        {
            var vendors = scope.ServiceProvider.GetServices<IReportPuller>().Select(p => p.Vendor)
                .Concat(scope.ServiceProvider.GetServices<IReplyPuller>().Select(p => p.Vendor))
                .Distinct(StringComparer.OrdinalIgnoreCase);
            foreach (var vendor in vendors)
            {
                if (options.Value.Pull.TryGetValue(vendor, out var pull) && pull.Enabled)
                    loops.Add(PollAsync(vendor, pull, stoppingToken));
            }
        }
        return Task.WhenAll(loops);
    }

    private async Task PollAsync(string vendor, SmsPullOptions pull, CancellationToken stoppingToken)
    {
        logger.LogInformation("Pulling {Vendor} reports={Reports} replies={Replies} every {Interval}", vendor, pull.Reports, pull.Replies, pull.Interval);
        using var timer = new PeriodicTimer(pull.Interval, time);
        do
        {
            try
            {
                // Several nodes: one of them pulls each vendor, or every report would be fetched (and acknowledged) twice.
                if (await leadership.IsLeaderAsync($"sms-pull:{vendor}", stoppingToken).ConfigureAwait(false))
                    await PollOnceAsync(vendor, pull, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is VendorException or HttpRequestException or TimeoutException)
            {
                // The vendor keeps what was not fetched; the next tick asks again.
                logger.LogWarning("Pulling from {Vendor} failed: {Error}", vendor, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    internal async Task PollOnceAsync(string vendor, SmsPullOptions pull, CancellationToken cancellationToken)
    {
        // Pullers are transient vendor clients: a fresh scope per round keeps their HTTP handlers rotating.
        using var scope = services.CreateScope();
        IReadOnlyList<DeliveryReport> reports = [];
        IReadOnlyList<InboundReply> replies = [];
        if (pull.Reports && scope.ServiceProvider.GetServices<IReportPuller>().FirstOrDefault(p => Is(p, vendor)) is { } reportPuller)
            reports = await reportPuller.PullDeliveryReportsAsync(cancellationToken).ConfigureAwait(false);
        if (pull.Replies && scope.ServiceProvider.GetServices<IReplyPuller>().FirstOrDefault(p => Is(p, vendor)) is { } replyPuller)
            replies = await replyPuller.PullRepliesAsync(cancellationToken).ConfigureAwait(false);
        await inbox.AddAsync(new PushEvents(reports, replies, []), cancellationToken).ConfigureAwait(false);
    }

    private static bool Is(IVendorProfile profile, string vendor) => string.Equals(profile.Vendor, vendor, StringComparison.OrdinalIgnoreCase);
}
