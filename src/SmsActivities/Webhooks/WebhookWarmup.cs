using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmsActivities.Inbox;
using SmsActivities.Vendors;

namespace SmsActivities.Webhooks;

/// <summary>
/// Does before the host reports started what the first pushes would otherwise pay for on their acknowledgement path:
/// each webhook reader's parsing (given a body it refuses, so nothing is read), the events' JSON and the inbox insert
/// (see <see cref="PushInbox.WarmAsync"/>). Pushes that arrive together at start would all wait for that work.
/// </summary>
internal sealed class WebhookWarmup(IEnumerable<IWebhookReader> readers, PushInbox inbox, ILogger<WebhookWarmup> logger) : IHostedService
{
    private static readonly byte[] Sample = Encoding.UTF8.GetBytes("[{}]");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var empty = new Dictionary<string, string>();
        foreach (var reader in readers)
        {
            try
            {
                reader.Read(new WebhookRequest("POST", "application/json", Sample, empty, empty));
            }
            catch (Exception e)
            {
                // A reader that throws is answered with a 400 at run time too; warming it is best effort.
                logger.LogDebug(e, "Warming the {Vendor} {Kind} reader threw", reader.Vendor, reader.Kind);
            }
        }
        try
        {
            await inbox.WarmAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Only the first pushes are slower for it.
            logger.LogWarning(e, "Warming the push inbox failed");
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
