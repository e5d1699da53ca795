using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace SmsActivities.Vendors;

/// <summary>HTTP settings every vendor account shares. Vendor option classes derive from this.</summary>
public abstract class VendorHttpOptions
{
    /// <summary>Base address of the vendor API. Defaults to the vendor's public host; sandbox mode points it at the emulator.</summary>
    [Required]
    public Uri? BaseUrl { get; set; }

    /// <summary>Time allowed for one attempt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries after the first attempt, on transient failures only (timeouts, 5xx, connection errors).</summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>First retry delay; later ones back off exponentially with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The region of the numbers this vendor writes without a country code in its answers and pushes. The four vendors
    /// here write China mainland numbers that way, so it stays CN unless an account is known to differ; it does not
    /// follow <see cref="PhoneNumberOptions.DefaultRegion"/>, which is about the numbers people type.
    /// </summary>
    [PhoneRegion]
    public string DefaultRegion { get; set; } = PhoneNumber.FallbackRegion;
}

/// <summary>
/// Retries transient failures with exponential backoff and jitter, under a per-attempt timeout.
/// A request the vendor answered with a 4xx (it rejected the request) is never retried. A request marked with
/// <see cref="MarkDeliversMessage"/> (it sends an SMS, call or email, and the vendor cannot dedupe it) is retried only
/// when it provably never reached the vendor: after a timeout, a 500 or a dropped answer the vendor may well have sent
/// the message, and a second attempt could reach the person twice.
/// </summary>
public sealed class TransientRetryHandler : DelegatingHandler
{
    private static readonly HttpRequestOptionsKey<bool> DeliversMessageKey = new("SmsActivities.DeliversMessage");

    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly ResiliencePipeline<HttpResponseMessage> _deliveryPipeline;

    public TransientRetryHandler(VendorHttpOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _pipeline = Build(options, timeProvider, static outcome => IsTransient(outcome));
        _deliveryPipeline = Build(options, timeProvider, static outcome => NeverReachedVendor(outcome));
    }

    /// <summary>
    /// Marks a request that delivers a message at a vendor without an idempotency key (or sent without one), so it is
    /// not repeated when its outcome is unknown.
    /// </summary>
    public static void MarkDeliversMessage(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Set(DeliversMessageKey, true);
    }

    private static ResiliencePipeline<HttpResponseMessage> Build(VendorHttpOptions options, TimeProvider? timeProvider, Func<Outcome<HttpResponseMessage>, bool> retryWhen)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider ?? TimeProvider.System };
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                Delay = options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(retryWhen(args.Outcome)),
            });
        }
        builder.AddTimeout(options.AttemptTimeout);
        return builder.Build();
    }

    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException } => true,
        { Exception: TimeoutRejectedException } => true,
        { Result: { } response } => (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.RequestTimeout,
        _ => false,
    };

    /// <summary>
    /// Failures that leave no doubt the vendor did not act: the connection was never made, or the vendor said it is
    /// unavailable (503, which by definition means the request was not processed).
    /// </summary>
    public static bool NeverReachedVendor(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError } } => true,
        { Result: { } response } => response.StatusCode == HttpStatusCode.ServiceUnavailable,
        _ => false,
    };

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Buffer the body once so every attempt can send it again.
        byte[]? body = null;
        Dictionary<string, IEnumerable<string>>? contentHeaders = null;
        if (request.Content is not null)
        {
            body = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            contentHeaders = request.Content.Headers.ToDictionary(h => h.Key, h => h.Value);
        }

        var pipeline = request.Options.TryGetValue(DeliversMessageKey, out var delivers) && delivers ? _deliveryPipeline : _pipeline;
        try
        {
            return await pipeline.ExecuteAsync(async ct =>
            {
                if (body is not null)
                {
                    var content = new ByteArrayContent(body);
                    foreach (var (name, values) in contentHeaders!) content.Headers.TryAddWithoutValidation(name, values);
                    request.Content = content;
                }
                return await base.SendAsync(request, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new HttpRequestException($"No answer within {ex.Timeout.TotalMilliseconds:0} ms", ex, HttpStatusCode.RequestTimeout);
        }
    }
}

public static class VendorHttpServiceCollectionExtensions
{
    /// <summary>
    /// Registers a typed vendor client whose options (bound from <paramref name="section"/>) are validated on start,
    /// with the transient retry pipeline and no default request logging (URIs and bodies can carry credentials).
    /// </summary>
    public static IHttpClientBuilder AddVendorClient<TClient, TOptions>(
        this IServiceCollection services,
        Microsoft.Extensions.Configuration.IConfiguration section,
        Action<TOptions>? configure = null)
        where TClient : class
        where TOptions : VendorHttpOptions
    {
        services.TryAddSingleton(TimeProvider.System);
        var options = services.AddOptions<TOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null) options.Configure(configure);

        return services
            .AddHttpClient<TClient>((sp, http) =>
            {
                var o = sp.GetRequiredService<IOptions<TOptions>>().Value;
                http.BaseAddress = EnsureTrailingSlash(o.BaseUrl!);
                // The retry handler owns per-attempt timeouts; this is only a backstop.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .RemoveAllLoggers()
            .AddHttpMessageHandler(sp => new TransientRetryHandler(
                sp.GetRequiredService<IOptions<TOptions>>().Value,
                sp.GetService<TimeProvider>()));
    }

    /// <summary>Relative request paths only combine with a base address that ends in '/'.</summary>
    public static Uri EnsureTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
