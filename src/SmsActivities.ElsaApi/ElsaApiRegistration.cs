using SmsActivities.Server.ElsaApi;
using SmsActivities.Server.Hosting;

namespace SmsActivities.ElsaApi;

/// <summary>How callers of the management API are authorized: an API key, or a policy of the host's own.</summary>
public sealed class ElsaApiOptions
{
    /// <summary>The policy every API call must satisfy when the API-key scheme is used.</summary>
    public const string ApiKeyPolicy = "SmsActivities.ElsaApi.ApiKey";

    /// <summary>
    /// The key callers present as <c>Authorization: ApiKey &lt;key&gt;</c> (what Elsa Studio sends) or
    /// <c>X-Api-Key: &lt;key&gt;</c>. Registers the API-key authentication scheme and <see cref="ApiKeyPolicy"/>.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The name of an authorization policy the host registers itself (cookies, JWT bearer, OpenID Connect, …). When
    /// set, the API uses it and no API-key scheme is added.
    /// </summary>
    public string? AuthorizationPolicy { get; set; }
}

public static class ElsaApiRegistration
{
    /// <summary>
    /// Registers the Elsa-compatible management API with its authorization. One of <see cref="ElsaApiOptions.ApiKey"/>
    /// and <see cref="ElsaApiOptions.AuthorizationPolicy"/> is required: the API starts, edits and deletes workflows, so
    /// it is never anonymous.
    /// </summary>
    public static IServiceCollection AddElsaApi(this IServiceCollection services, Action<ElsaApiOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new ElsaApiOptions();
        configure(options);
        if (string.IsNullOrWhiteSpace(options.AuthorizationPolicy))
        {
            if (string.IsNullOrWhiteSpace(options.ApiKey))
                throw new InvalidOperationException("AddElsaApi: set ApiKey (API-key scheme) or AuthorizationPolicy (a policy of your own); the management API is never anonymous.");
            services.AddAuthentication().AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, o => o.Key = options.ApiKey);
            services.AddAuthorizationBuilder().AddPolicy(ElsaApiOptions.ApiKeyPolicy,
                policy => policy.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser());
            options.AuthorizationPolicy = ElsaApiOptions.ApiKeyPolicy;
        }
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(options));
        services.AddElsaApiServices();
        return services;
    }

    /// <summary>Maps the API under <paramref name="prefix"/>, every endpoint behind the authorization chosen in <see cref="AddElsaApi"/>.</summary>
    public static RouteGroupBuilder MapElsaApi(this IEndpointRouteBuilder routes, string prefix = "/elsa/api")
    {
        ArgumentNullException.ThrowIfNull(routes);
        var options = routes.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<ElsaApiOptions>>().Value;
        var api = routes.MapElsaApiEndpoints(prefix);
        api.RequireAuthorization(options.AuthorizationPolicy!);
        return api;
    }
}
