namespace SmsActivities.Workflows.Hosting;

/// <summary>
/// What of an HTTP request reaches a workflow (and so its stored instance, journal and inbox): only the headers named
/// here. Credentials never do, even when listed, because everything a workflow receives is kept at rest.
/// </summary>
public sealed class HttpEndpointOptions
{
    /// <summary>Headers that carry credentials or sessions: dropped whatever <see cref="AllowedHeaders"/> says.</summary>
    public static IReadOnlySet<string> NeverKept { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key",
    };

    /// <summary>The allow-list used when none is configured.</summary>
    public static IReadOnlyList<string> DefaultAllowedHeaders { get; } =
        ["Accept", "Accept-Language", "Content-Type", "User-Agent", "Idempotency-Key", "X-Request-Id", "X-Correlation-Id"];

    /// <summary>Request headers handed to <c>HttpEndpoint</c>'s Headers output; null means <see cref="DefaultAllowedHeaders"/>.</summary>
    public string[]? AllowedHeaders { get; set; }

    public bool Keeps(string header) =>
        !NeverKept.Contains(header) && (AllowedHeaders ?? DefaultAllowedHeaders).Contains(header, StringComparer.OrdinalIgnoreCase);
}
