using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace SmsActivities.Vendors;

/// <summary>
/// When a vendor call is tried again. Every failure that may pass is retried with exponential backoff and jitter, under a
/// per-attempt timeout; a 4xx refusal never is. A request marked with <see cref="MarkDeliversMessage"/> (it sends an SMS,
/// call or email, and the vendor cannot dedupe it) is retried only when it provably was not carried out: no connection,
/// or an answer that says the request was not processed (408, 429, 503). After a timeout, a 500 or a dropped answer the
/// vendor may well have sent the message, and a second attempt could reach the person twice.
/// </summary>
public static class VendorRetryRules
{
    private static readonly HttpRequestOptionsKey<bool> DeliversMessageKey = new("SmsActivities.DeliversMessage");

    /// <summary>
    /// Marks a request that delivers a message at a vendor without an idempotency key (or sent without one), so it is
    /// not repeated when its outcome is unknown.
    /// </summary>
    public static void MarkDeliversMessage(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(DeliversMessageKey, true);
    }

    public static bool DeliversMessage(HttpRequestMessage? request) =>
        request is not null && request.Options.TryGetValue(DeliversMessageKey, out var delivers) && delivers;

    /// <summary>Retry (outermost) around a per-attempt timeout, on the standard resilience handler's building blocks.</summary>
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, VendorHttpOptions options)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxRetryAttempts > 0)
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                Delay = options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context.GetRequestMessage())),
            });
        }
        pipeline.AddTimeout(options.AttemptTimeout);
    }

    public static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, HttpRequestMessage? request) =>
        DeliversMessage(request) ? NeverReachedVendor(outcome) : IsTransient(outcome);

    /// <summary>Anything that may pass: no connection, a timeout, 408, 429 and 5xx (Microsoft.Extensions.Http.Resilience's rule).</summary>
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => HttpClientResiliencePredicates.IsTransient(outcome);

    /// <summary>Failures that leave no doubt the vendor did not act: the connection was never made, or the vendor said so.</summary>
    public static bool NeverReachedVendor(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException ex } => ClassifyException(ex) == VendorFailureKind.Transient,
        { Result: { } response } => ClassifyStatus(response.StatusCode) == VendorFailureKind.Transient,
        _ => false,
    };

    /// <summary>
    /// How an HTTP status failed: 408 (the server gave up waiting for the request), 429 (throttled) and 503 (unavailable)
    /// say the request was not processed; other 5xx leave it open; every other non-success status is a refusal.
    /// </summary>
    public static VendorFailureKind ClassifyStatus(HttpStatusCode status) => status switch
    {
        HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable => VendorFailureKind.Transient,
        >= HttpStatusCode.InternalServerError => VendorFailureKind.UnknownOutcome,
        _ => VendorFailureKind.Rejected,
    };

    /// <summary>
    /// How a call that got no answer failed: before the request left (name resolution, connection, TLS) nothing was sent;
    /// a timeout, a cancelled attempt or a connection that broke afterwards leave the outcome open.
    /// </summary>
    public static VendorFailureKind ClassifyException(Exception exception) => exception switch
    {
        HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError }
            => VendorFailureKind.Transient,
        HttpRequestException { StatusCode: { } status } => ClassifyStatus(status),
        _ => VendorFailureKind.UnknownOutcome,
    };

    /// <summary>The text for a failure without an answer; names no request data (URIs may hold credentials).</summary>
    internal static string Describe(Exception exception) => exception switch
    {
        TimeoutRejectedException timeout => $"no answer within {timeout.Timeout.TotalMilliseconds:0} ms",
        OperationCanceledException => "no answer in time",
        HttpRequestException { HttpRequestError: var error } when error != HttpRequestError.Unknown => $"{error} ({exception.Message})",
        _ => exception.Message,
    };
}
