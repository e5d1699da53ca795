using Microsoft.Playwright;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>
/// One server and one headless Chromium for the browser tests. Playwright's own browser download cannot work on
/// these machines, so it drives Debian's <c>/usr/bin/chromium</c> (installed by <c>.ci/run</c>); override with
/// <c>SMSACTIVITIES_CHROMIUM</c>.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public static readonly string[] ChromiumArgs =
    [
        "--no-sandbox",               // CI runs as root
        "--disable-dev-shm-usage",    // small /dev/shm in containers
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;
    private ServerHost? _server;

    public ServerHost Server => _server ?? throw new InvalidOperationException("not started");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("not started");

    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("SMSACTIVITIES_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"Chromium not found at {ChromiumPath}: install Debian's chromium (apt-get install -y chromium; .ci/run does) or set SMSACTIVITIES_CHROMIUM.");
        _server = await ServerHost.StartAsync().ConfigureAwait(false);
        _playwright = await Playwright.CreateAsync().ConfigureAwait(false);
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
        }).ConfigureAwait(false);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync().ConfigureAwait(false);
        _playwright?.Dispose();
        if (_server is not null) await _server.DisposeAsync().ConfigureAwait(false);
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
