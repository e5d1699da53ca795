using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

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

    /// <summary>Retries after the first attempt, on transient failures only (see <see cref="VendorRetryRules"/>).</summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>First retry delay; later ones back off exponentially with jitter (a Retry-After header wins).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The region of the numbers this vendor writes without a country code in its answers and pushes. Unset, it is the
    /// deployment's <see cref="PhoneNumberOptions.DefaultRegion"/> (itself CN unless set); set it for an account whose
    /// national numbers belong to another region than the deployment's.
    /// </summary>
    [PhoneRegion]
    public string? DefaultRegion { get; set; }

    /// <summary>
    /// Most calls of one send (a campaign's batches) in flight to this vendor at once. The vendors limit requests per
    /// second per account or API, set per account (ask the vendor, or see its console), and messages per number (a
    /// campaign reaches each number once). A handful of batch calls in flight stays far below the request limits the
    /// vendors grant by default; set 1 for an account with a small quota (batches then go one after another).
    /// </summary>
    [Range(1, 64)]
    public int MaxConcurrentCalls { get; set; } = DefaultMaxConcurrentCalls;

    /// <summary>The default of <see cref="MaxConcurrentCalls"/>.</summary>
    public const int DefaultMaxConcurrentCalls = 4;
}

public static class VendorHttpServiceCollectionExtensions
{
    /// <summary>
    /// Registers a typed vendor client whose options (bound from <paramref name="section"/>) are validated on start,
    /// with the vendor retry pipeline (<see cref="VendorRetryRules"/>: retries with backoff under a per-attempt timeout,
    /// built on Microsoft.Extensions.Http.Resilience) and no default request logging (URIs and bodies can carry credentials).
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
        // Without Vendors:DefaultRegion registered this reads a default PhoneNumberOptions, whose region is CN.
        options.PostConfigure<IOptions<PhoneNumberOptions>>((o, global) => o.DefaultRegion ??= global.Value.DefaultRegion);

        var builder = services
            .AddHttpClient<TClient>((sp, http) =>
            {
                var o = sp.GetRequiredService<IOptions<TOptions>>().Value;
                http.BaseAddress = EnsureTrailingSlash(o.BaseUrl!);
                // The pipeline owns per-attempt timeouts; this is only a backstop.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .RemoveAllLoggers();
        builder.AddResilienceHandler("vendor", (pipeline, context) =>
            VendorRetryRules.Configure(pipeline, context.ServiceProvider.GetRequiredService<IOptions<TOptions>>().Value));
        // Innermost, inside the pipeline: a start-up warm-up's sends are answered here (see IVendorWarmup).
        builder.AddHttpMessageHandler(() => new VendorWarmup.LocalAnswerHandler());
        return builder;
    }

    /// <summary>Relative request paths only combine with a base address that ends in '/'.</summary>
    public static Uri EnsureTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
