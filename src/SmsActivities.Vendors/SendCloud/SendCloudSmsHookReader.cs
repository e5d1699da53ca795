using System.Globalization;
using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.SendCloud;

/// <summary>
/// Reads SMSHook pushes: form POSTs with <c>event</c>, <c>smsId</c>, <c>phone</c>, <c>statusCode</c>, <c>message</c>
/// (reports) or <c>content</c> (replies), and <c>timestamp</c> (Unix ms), <c>token</c>, <c>signature</c>
/// = hex(hmac_sha256(app key, timestamp + token)). Answered with a plain 200. As the signature leaves the body out,
/// a push is refused when its timestamp is outside <see cref="SendCloudOptions.HookFreshness"/>, and its signature is
/// handed back as a <see cref="WebhookOneTimeKey"/> for the endpoint to accept with one body only.
/// </summary>
public sealed class SendCloudSmsHookReader(IOptions<SendCloudOptions> options, TimeProvider? time = null) : IWebhookReader
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The SMSHook events read here: delivered, refused before sending (410–460), failed at the carrier (500–590), inbound reply.</summary>
    public static class Events
    {
        public const string Deliver = "deliver";
        public const string WorkerError = "workererror";
        public const string DeliverError = "delivererror";
        public const string Reply = "reply";
    }

    public string Vendor => VendorNames.SendCloud;
    public string Kind => "smshook";

    public WebhookReadResult Read(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!string.Equals(request.Method, "POST", StringComparison.OrdinalIgnoreCase))
            return WebhookReadResult.Rejected($"SMSHook pushes are POSTs, got {request.Method}");

        var parsed = System.Web.HttpUtility.ParseQueryString(request.BodyText);
        var form = parsed.AllKeys.OfType<string>().ToDictionary(k => k, k => parsed[k] ?? string.Empty, StringComparer.Ordinal);
        var timestamp = form.GetValueOrDefault("timestamp");
        var token = form.GetValueOrDefault("token");
        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(token) || !form.TryGetValue("signature", out var signature))
            return WebhookReadResult.Rejected("timestamp, token and signature are required", 401);
        if (!SendCloudSignature.HexEquals(SendCloudSignature.SignHook(options.Value.HookKey, timestamp, token), signature))
            return WebhookReadResult.Rejected("signature does not match the app key", 401);
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || ms is < 0 or > 253402300799999)
            return WebhookReadResult.Rejected("timestamp is not Unix milliseconds");
        var at = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        var window = options.Value.HookFreshness;
        if ((_time.GetUtcNow() - at).Duration() > window)
            return WebhookReadResult.Rejected($"timestamp is more than {window.TotalMinutes:0.#} minutes away from this server's time", 401);
        var oneTimeKey = new WebhookOneTimeKey("sendcloud:" + signature.ToLowerInvariant(), at + window);

        var phone = form.GetValueOrDefault("phone");
        if (!PhoneNumber.TryParse(phone, out var number, out var phoneError, options.Value.DefaultRegion))
            return WebhookReadResult.Rejected($"phone: {phoneError}");

        var ev = form.GetValueOrDefault("event");
        switch (ev)
        {
            case Events.Reply:
                var text = form.GetValueOrDefault("content");
                if (text is null) return WebhookReadResult.Rejected("a reply needs content");
                return Accepted(oneTimeKey, replies: [new InboundReply(Vendor, number.E164, text, NullIfEmpty(form.GetValueOrDefault("extend")), at, NullIfEmpty(form.GetValueOrDefault("smsId")))]);
            case Events.Deliver or Events.WorkerError or Events.DeliverError:
                var smsId = form.GetValueOrDefault("smsId");
                if (string.IsNullOrEmpty(smsId)) return WebhookReadResult.Rejected("a report needs smsId");
                var status = ev == Events.Deliver ? DeliveryStatus.Delivered : DeliveryStatus.Failed;
                return Accepted(oneTimeKey, reports: [new DeliveryReport(Vendor, smsId, number.E164, status,
                    NullIfEmpty(form.GetValueOrDefault("statusCode")), NullIfEmpty(form.GetValueOrDefault("message")), at)]);
            case null or "":
                return WebhookReadResult.Rejected("event is missing");
            default:
                // "request" (accepted by SendCloud) and events added later carry nothing to resume; take them so they are not retried.
                return Accepted(oneTimeKey);
        }
    }

    private static WebhookReadResult Accepted(WebhookOneTimeKey oneTimeKey, IReadOnlyList<DeliveryReport>? reports = null, IReadOnlyList<InboundReply>? replies = null) =>
        new() { IsValid = true, Reports = reports ?? [], Replies = replies ?? [], OneTimeKey = oneTimeKey, Acknowledgement = WebhookAcknowledgement.Ok };

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
