namespace SmsActivities.ElsaStudio;

/// <summary>Settings of the Studio host page.</summary>
public sealed class ElsaStudioOptions
{
    /// <summary>Where the management API is mounted (<c>MapElsaApi</c>'s prefix).</summary>
    public string ApiPath { get; set; } = "/elsa/api";

    /// <summary>
    /// An API key written into the page, so Studio calls the API without asking. Only for a documented local
    /// sandbox key: anyone who can load <c>/studio</c> can read it. Leave empty otherwise; Studio then asks for the key
    /// (kept in the browser's local storage), or the host's own sign-in covers the API.
    /// </summary>
    public string? EmbeddedApiKey { get; set; }

    /// <summary>An unpacked <c>@elsa-workflows/elsa-studio-wasm</c> package to serve instead of the one shipped with the package.</summary>
    public string? PackagePath { get; set; }
}
