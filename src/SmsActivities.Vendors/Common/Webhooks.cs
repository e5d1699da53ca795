using System.Text;

namespace SmsActivities.Vendors;

/// <summary>An inbound vendor push, independent of any web framework.</summary>
public sealed record WebhookRequest(
    string Method,
    string? ContentType,
    byte[] Body,
    IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Headers)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public static WebhookRequest Json(string json) =>
        new("POST", "application/json", Encoding.UTF8.GetBytes(json), Empty, Empty);

    public static WebhookRequest Form(string urlEncodedBody) =>
        new("POST", "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes(urlEncodedBody), Empty, Empty);

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();
}

/// <summary>The answer a vendor expects so that it stops retrying a push.</summary>
public sealed record WebhookAcknowledgement(int StatusCode, string ContentType, string Body)
{
    public static WebhookAcknowledgement Text(string body) => new(200, "text/plain; charset=utf-8", body);
    public static WebhookAcknowledgement JsonBody(string body) => new(200, "application/json; charset=utf-8", body);
    public static WebhookAcknowledgement Ok { get; } = new(200, "text/plain; charset=utf-8", "OK");
}

/// <summary>
/// What a webhook reader made of a push. Readers never throw on bad input: a malformed or unauthenticated
/// push comes back with <see cref="IsValid"/> false, a 4xx <see cref="RejectStatus"/> and a reason that
/// holds no secret.
/// </summary>
public sealed record WebhookReadResult
{
    public bool IsValid { get; init; }
    public int RejectStatus { get; init; }
    public string? Error { get; init; }
    public IReadOnlyList<DeliveryReport> Reports { get; init; } = [];
    public IReadOnlyList<InboundReply> Replies { get; init; } = [];
    public IReadOnlyList<EmailEvent> EmailEvents { get; init; } = [];
    /// <summary>
    /// Set when the push is authorised by a signature that does not cover its body (SendCloud's SMSHook): the endpoint
    /// must accept this key with one body only, so a captured signature cannot carry a forged one.
    /// </summary>
    public WebhookOneTimeKey? OneTimeKey { get; init; }
    /// <summary>What to answer once the content is safely stored.</summary>
    public WebhookAcknowledgement Acknowledgement { get; init; } = WebhookAcknowledgement.Ok;

    public static WebhookReadResult Rejected(string error, int status = 400) =>
        new() { IsValid = false, RejectStatus = status, Error = error };
}

/// <summary>
/// A value that authorises one push. <paramref name="KeepUntil"/> is when the reader itself starts refusing the push
/// as stale, so the key need not be remembered longer.
/// </summary>
public sealed record WebhookOneTimeKey(string Key, DateTimeOffset KeepUntil);

/// <summary>Reads one kind of push from one vendor.</summary>
public interface IWebhookReader
{
    string Vendor { get; }
    /// <summary>Stable name of the push kind, used in the endpoint path (e.g. "status", "reply", "email").</summary>
    string Kind { get; }
    WebhookReadResult Read(WebhookRequest request);
}
