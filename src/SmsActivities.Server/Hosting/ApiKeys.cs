namespace SmsActivities.Server.Hosting;

/// <summary>Which API key is in force.</summary>
public static class ApiKeys
{
    /// <summary>True when no key is configured and the documented default applies (sandbox mode or Development).</summary>
    public static bool IsDefaultKey(ServerOptions options, IHostEnvironment environment) =>
        string.IsNullOrWhiteSpace(options.ApiKey) && (options.Sandbox || environment.IsDevelopment());

    /// <summary>The configured key; the documented default in sandbox/Development; otherwise start-up fails.</summary>
    public static string Effective(ServerOptions options, IHostEnvironment environment)
    {
        if (!string.IsNullOrWhiteSpace(options.ApiKey)) return options.ApiKey;
        if (IsDefaultKey(options, environment)) return ServerOptions.SandboxApiKey;
        throw new InvalidOperationException(
            "Server:ApiKey is required outside sandbox mode and Development (environment variable Server__ApiKey).");
    }
}
