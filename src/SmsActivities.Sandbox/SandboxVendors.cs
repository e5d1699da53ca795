using SmsActivities.Emulators;
using SmsActivities.Emulators.Smtp;
using SmsActivities.Hosting;
using SmsActivities.Vendors;

namespace SmsActivities.Sandbox;

/// <summary>
/// The vendor emulators on loopback ports, for a consumer's own integration tests (xunit or any other): start them,
/// give <see cref="Settings"/> to the app under test, tell them the app's address with <see cref="ConnectTo"/>, then
/// read what handsets received with <see cref="HandsetInbox"/>. Each instance has its own ports and state.
/// </summary>
/// <example>
/// <code>
/// await using var vendors = await SandboxVendors.StartAsync();
/// builder.Configuration.AddInMemoryCollection(vendors.Settings);
/// // … build and start the app on http://127.0.0.1:0 …
/// vendors.ConnectTo(appAddress);
/// </code>
/// </example>
public sealed class SandboxVendors : IAsyncDisposable
{
    private readonly EmulatorHost _host;

    private SandboxVendors(EmulatorHost host, SmtpEmulator smtp, string webhookToken)
    {
        _host = host;
        Smtp = smtp;
        WebhookToken = webhookToken;
        var settings = SandboxSettings.VendorSettings(host.BaseUrlFor, smtp);
        settings[$"{SmsActivitiesOptions.Section}:Webhooks:Token"] = webhookToken;
        Settings = settings;
    }

    /// <summary>The emulators themselves: their journals, fault switches and clocks.</summary>
    public EmulatorSet Emulators => _host.Set;

    /// <summary>The SMTP emulator (STARTTLS, login) and its mailboxes.</summary>
    public SmtpEmulator Smtp { get; }

    /// <summary>Where the emulators listen, e.g. <c>http://127.0.0.1:41234/</c>; each vendor under <c>/{vendor}/</c>.</summary>
    public Uri BaseAddress => _host.BaseAddress;

    /// <summary>The webhook token the settings carry; the emulators push to URLs ending with it.</summary>
    public string WebhookToken { get; }

    /// <summary>Configuration for the app under test: every <c>Vendors:*</c> section on its emulator, and the webhook token.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; }

    /// <param name="timeScale">How fast the emulators' clocks run (1 = real time; 0.001 makes a 10 s report delay 10 ms).</param>
    public static async Task<SandboxVendors> StartAsync(double timeScale = 1.0, string? webhookToken = null, CancellationToken cancellationToken = default)
    {
        var host = await EmulatorHost.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        host.Set.Clock.Scale = timeScale;
        var smtp = SandboxSettings.StartSmtpEmulator();
        SandboxSettings.SeedAccounts(host.Set);
        return new SandboxVendors(host, smtp, webhookToken ?? SandboxSettings.NewWebhookToken());
    }

    /// <summary>Points every emulator's pushes (delivery reports, replies) at the webhooks of the app at <paramref name="app"/>.</summary>
    public void ConnectTo(Uri app, string webhookPrefix = Webhooks.SmsWebhookEndpoints.DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(app);
        SandboxSettings.PointPushesAt(Emulators, app, WebhookToken, webhookPrefix);
    }

    /// <summary>What the handset of <paramref name="e164"/> received from every vendor, oldest first.</summary>
    public IReadOnlyList<SandboxSettings.HandsetMessage> HandsetInbox(string e164) =>
        SandboxSettings.HandsetInbox(Emulators, PhoneNumber.Parse(e164));

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync().ConfigureAwait(false);
        await Smtp.DisposeAsync().ConfigureAwait(false);
    }
}
