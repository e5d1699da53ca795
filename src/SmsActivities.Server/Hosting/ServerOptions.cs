namespace SmsActivities.Server.Hosting;

/// <summary>
/// The server's own settings, section <c>Server</c> (environment: <c>Server__ApiKey</c>, <c>Server__Sandbox</c>, …).
/// Everything has a default, so the server starts with no configuration at all.
/// </summary>
public sealed class ServerOptions
{
    public const string Section = "Server";

    /// <summary>The API key used in sandbox mode and in Development when none is configured. Never valid otherwise.</summary>
    public const string SandboxApiKey = "sandbox-api-key";

    /// <summary>
    /// Sandbox mode (default on): the vendor emulators run in this process under <see cref="EmulatorPrefix"/>,
    /// so every workflow runs with no vendor credentials.
    /// </summary>
    public bool Sandbox { get; set; } = true;

    /// <summary>
    /// The key callers of the management API (<c>/elsa/api</c>) present as <c>Authorization: ApiKey &lt;key&gt;</c>
    /// or <c>X-Api-Key: &lt;key&gt;</c>. Required outside sandbox mode and Development.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>Folder of the SQLite database and other local state, relative to the working directory.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>
    /// The ASP.NET Core Data Protection key ring (the keys that encrypt a dispatched child's secret input while it is
    /// queued). Default: <c>keys</c> in <see cref="DataDirectory"/>. Nodes sharing one database must share this folder.
    /// </summary>
    public string? KeysDirectory { get; set; }

    /// <summary>
    /// Folder of workflow definitions (<c>*.json</c>, Elsa 3 format) saved and published at start. Default: the
    /// repository's <c>workflows/</c>, found by walking up from the content root to <c>SmsActivities.sln</c>.
    /// </summary>
    public string? WorkflowsFolder { get; set; }

    /// <summary>Where the emulators are mounted in sandbox mode.</summary>
    public string EmulatorPrefix { get; set; } = "/_emulators";

    /// <summary>
    /// Reverse proxies (addresses such as <c>10.0.0.5</c>, or networks such as <c>10.0.0.0/8</c>) whose
    /// <c>X-Forwarded-For</c> / <c>X-Forwarded-Proto</c> are believed. From anyone else those headers are ignored, so a
    /// client cannot pick its own address to dodge per-address limits. Empty (the default): none is believed.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>Origins allowed to call the API from another site (e.g. a Studio hosted elsewhere). Same-origin needs none.</summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary>
    /// Whether Studio's activity Test tab may run the SMS plug-in's activities outside sandbox mode, where they reach the
    /// real vendors (a test of SendSms sends a real, billed message). Off by default: such a test answers Faulted,
    /// saying so. Sandbox mode runs them against the emulators.
    /// </summary>
    public bool AllowActivityTestsOutsideSandbox { get; set; }

    /// <summary>
    /// The unpacked npm package <c>@elsa-workflows/elsa-studio-wasm</c>. Default: the copy the build installed into
    /// <c>src/SmsActivities.ElsaStudio/studio-npm/node_modules</c>.
    /// </summary>
    public string? StudioPath { get; set; }

    /// <summary>
    /// The chart library's browser bundle for the insights page (npm <c>chart.js</c>, <c>dist/chart.umd.min.js</c>).
    /// Default: the copy the build installed into <c>src/SmsActivities.Server/insights-npm/node_modules</c>.
    /// </summary>
    public string? ChartScriptPath { get; set; }
}
