using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Hosting;
using SmsActivities.Inbox;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;

namespace SmsActivities.Webhooks;

public static class SmsWebhookEndpoints
{
    public const string DefaultPrefix = "/webhooks/sms";

    /// <summary>The path a vendor should push one kind of event to, e.g. <c>/webhooks/sms/tencent/status/{token}</c>.</summary>
    public static string PathFor(string vendor, string kind, string token, string prefix = DefaultPrefix) =>
        $"{prefix.TrimEnd('/')}/{vendor}/{kind}/{Uri.EscapeDataString(token)}";

    /// <summary>
    /// Maps one endpoint per registered <see cref="IWebhookReader"/> (vendor and push kind) at
    /// <c>{prefix}/{vendor}/{kind}/{token}</c>, GET and POST (some vendors push as query strings). A request is
    /// accepted only with the configured secret token (compared in constant time) and the vendor's own signature
    /// where the reader checks one (a signature that leaves the body out is accepted with one body only, see
    /// <see cref="WebhookOneTimeKeyStore"/>); any body the reader cannot make sense of gets a 4xx naming the reason. Its events are stored durably before the vendor's exact acknowledgement is
    /// returned (one row of the push inbox, run by <see cref="PushInboxService"/> after the answer), so a crash before the
    /// answer only makes the vendor push again, and repeats are acknowledged and ignored when they are run.
    /// </summary>
    public static IEndpointRouteBuilder MapSmsWebhooks(this IEndpointRouteBuilder routes, string prefix = DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var options = routes.ServiceProvider.GetRequiredService<IOptions<SmsActivitiesOptions>>().Value.Webhooks;
        if (string.IsNullOrWhiteSpace(options.Token) || options.Token.Length < 16)
            throw new InvalidOperationException("SmsActivities:Webhooks:Token must be set to a random secret of at least 16 characters before mapping the SMS webhooks.");
        // The token segment of paths under this prefix is masked in every log line (see WebhookLogRedaction).
        routes.ServiceProvider.GetService<Telemetry.WebhookLogRedaction>()?.AddPrefix(prefix);
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(options.Token));

        foreach (var reader in routes.ServiceProvider.GetServices<IWebhookReader>())
        {
            var route = $"{prefix.TrimEnd('/')}/{reader.Vendor}/{reader.Kind}/{{token}}";
            routes.MapMethods(route, ["GET", "POST"], (HttpContext http, string token, PushInbox inbox, WebhookOneTimeKeyStore oneTimeKeys, SmsTelemetry telemetry, ILoggerFactory loggers, IHostApplicationLifetime lifetime) =>
                    HandleAsync(http, token, expected, options.MaxBodyBytes, reader, inbox, oneTimeKeys, telemetry, loggers.CreateLogger("SmsActivities.Webhooks"), lifetime.ApplicationStopping))
                .WithName($"sms-webhook-{reader.Vendor}-{reader.Kind}")
                .ExcludeFromDescription();
        }
        return routes;
    }

    /// <param name="cancellationToken">
    /// The host's stopping token, not the request's: a vendor that gives up waiting must not abort a push half stored;
    /// what was read is stored and run regardless.
    /// </param>
    private static async Task<IResult> HandleAsync(HttpContext http, string token, byte[] expected, int maxBody, IWebhookReader reader,
        PushInbox inbox, WebhookOneTimeKeyStore oneTimeKeys, SmsTelemetry telemetry, ILogger logger, CancellationToken cancellationToken)
    {
        void Rejected(string reason) => telemetry.WebhookRejections.Add(1, new TagList { { "vendor", reader.Vendor }, { "kind", reader.Kind }, { "reason", reason } });

        using var span = SmsTelemetry.Source.StartActivity("sms.webhook", ActivityKind.Server);
        span?.SetTag("sms.vendor", reader.Vendor);
        span?.SetTag("sms.push_kind", reader.Kind);

        // Hashing both sides first makes the comparison constant-time in the token's length too.
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), expected))
        {
            logger.LogWarning("Refused a {Vendor} {Kind} push from {Remote}: wrong path token", reader.Vendor, reader.Kind, http.Connection.RemoteIpAddress);
            Rejected("token");
            return Results.NotFound();
        }

        byte[] body;
        try
        {
            body = await ReadBodyAsync(http.Request, maxBody, cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException)
        {
            logger.LogWarning("Refused a {Vendor} {Kind} push: body over {Max} bytes", reader.Vendor, reader.Kind, maxBody);
            Rejected("too_large");
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }

        var request = new WebhookRequest(
            http.Request.Method,
            http.Request.ContentType,
            body,
            http.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal),
            http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
        WebhookReadResult read;
        try
        {
            read = reader.Read(request);
        }
        catch (Exception ex)
        {
            // Readers refuse bad input themselves; one that throws has a bug, but the push is still bad input to the
            // vendor: a 5xx would have it retry the same body forever. The exception is logged, never the body.
            logger.LogError(ex, "The {Vendor} {Kind} reader failed on a push; refused with 400", reader.Vendor, reader.Kind);
            read = WebhookReadResult.Rejected("the push could not be read");
        }
        if (!read.IsValid)
        {
            // The reader's reason never holds a secret; the body is not logged (it holds phone numbers and texts).
            logger.LogWarning("Refused a {Vendor} {Kind} push ({Status}): {Reason}", reader.Vendor, reader.Kind, read.RejectStatus, read.Error);
            span?.SetStatus(ActivityStatusCode.Error, read.Error);
            Rejected("malformed");
            return Results.Text(read.Error ?? "rejected", "text/plain; charset=utf-8", statusCode: read.RejectStatus is >= 400 and < 500 ? read.RejectStatus : 400);
        }

        var events = new PushEvents(read.Reports, read.Replies, read.EmailEvents);
        try
        {
            if (read.OneTimeKey is { } oneTimeKey && !await oneTimeKeys.TryUseAsync(oneTimeKey, body, cancellationToken).ConfigureAwait(false))
            {
                logger.LogWarning("Refused a {Vendor} {Kind} push: its signature was already used for a different push", reader.Vendor, reader.Kind);
                span?.SetStatus(ActivityStatusCode.Error, "signature reused");
                Rejected("replayed");
                return Results.Text("signature already used for a different push", "text/plain; charset=utf-8", statusCode: StatusCodes.Status401Unauthorized);
            }
            // One row in one short transaction; the processor runs it after the acknowledgement.
            await inbox.AddAsync(events, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host is shutting down mid-store: the vendor pushes again to this or another node.
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not stored: no acknowledgement, so the vendor pushes again.
            logger.LogError(ex, "Could not store a {Vendor} {Kind} push; answering 503 so the vendor retries", reader.Vendor, reader.Kind);
            Rejected("store_failed");
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        }

        telemetry.WebhookPushes.Add(1, new TagList { { "vendor", reader.Vendor }, { "kind", reader.Kind } });
        span?.SetTag("sms.events", events.Count);
        var ack = read.Acknowledgement;
        return Results.Text(ack.Body, ack.ContentType, Encoding.UTF8, ack.StatusCode);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, int max, CancellationToken cancellationToken)
    {
        if (request.ContentLength > max) throw new InvalidDataException("body too large");
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max) throw new InvalidDataException("body too large");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }
}
