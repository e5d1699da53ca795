using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using SmsActivities.Emulators;
using SmsActivities.Emulators.SendCloud;
using SmsActivities.Emulators.Smtp;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Emulators.Yaningai;
using SmsActivities.Emulators.Yunpian;
using SmsActivities.Hosting;
using SmsActivities.Vendors;
using SmsActivities.Webhooks;

namespace SmsActivities.Sandbox;

public static class SandboxRegistration
{
    /// <summary>
    /// Sandbox mode: every vendor (and SMTP) is pointed at an emulator running inside this app under
    /// <paramref name="emulatorPrefix"/>, whatever credentials are configured, and the emulators push reports and
    /// replies back to this app's webhooks. Workflows run end to end with no vendor account. The app must listen on a
    /// plain-HTTP address (the vendor clients call it). Not for production.
    /// </summary>
    public static SmsActivitiesBuilder UseSandboxVendors(this SmsActivitiesBuilder builder, string emulatorPrefix = "/_emulators")
    {
        ArgumentNullException.ThrowIfNull(builder);
        var sandbox = new SandboxSettings(emulatorPrefix, SandboxSettings.StartSmtpEmulator());
        builder.OverrideConfiguration(sandbox.Over);
        var services = builder.Services;
        services.AddSingleton(sandbox);
        // Created by a factory so the container disposes it (stops listening) with the host.
        services.AddSingleton(_ => sandbox.Smtp);
        services.AddSingleton(sp => new EmulatorSet(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        // The emulator controls take named outcomes ({"outcome":"Failed"}), as the README documents them.
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        // Vendor clients are configured before the app knows its port; they call the sentinel host and this
        // handler sends the request to the address the app actually listens on.
        services.ConfigureHttpClientDefaults(http => http.AddHttpMessageHandler(sp =>
            new SandboxLoopbackHandler(sp.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>())));
        builder.OnMap(MapSandbox);
        return builder;
    }

    /// <summary>The emulators, the handset inbox and the SMTP mailboxes; once the app listens, the emulators' pushes go to its webhooks.</summary>
    private static void MapSandbox(WebApplication app, string webhookPrefix)
    {
        var sandbox = app.Services.GetRequiredService<SandboxSettings>();
        var emulators = app.Services.GetRequiredService<EmulatorSet>();
        app.UseVendorEmulators(emulators, sandbox.EmulatorPrefix);
        app.MapVendorEmulators(emulators, sandbox.EmulatorPrefix);
        app.MapGet($"{sandbox.EmulatorPrefix}/_handset/{{e164}}/messages", (string e164) =>
                PhoneNumber.TryParse(e164, out var mobile, out var error)
                    ? Results.Json(SandboxSettings.HandsetInbox(emulators, mobile))
                    : Results.BadRequest(new { field = "e164", error }))
            .WithTags("Sandbox");
        app.MapSmtpMailbox(app.Services.GetRequiredService<SmtpEmulator>(), sandbox.EmulatorPrefix);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var token = app.Services.GetRequiredService<IOptions<SmsActivitiesOptions>>().Value.Webhooks.Token!;
            var self = SandboxLoopbackHandler.LoopbackAddress(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>());
            SandboxSettings.PointPushesAt(emulators, self, token, webhookPrefix);
            SandboxSettings.SeedAccounts(emulators);
        });
    }
}

/// <summary>
/// Sandbox mode: the vendor sections every emulator answers to (its public sandbox credentials, the server's own
/// address under the emulator prefix) and a random webhook token for this run, layered over the configuration.
/// </summary>
public sealed class SandboxSettings(string emulatorPrefix, SmtpEmulator smtp)
{
    /// <summary>The login the sandbox SMTP emulator asks for (sandbox mode configures the SMTP vendor with it).</summary>
    public const string SmtpUserName = "sandbox";

    public const string SmtpPassword = "sandbox-smtp-password";

    public const string SmtpFrom = "noreply@sandbox.smsactivities.invalid";

    /// <summary>The SMTP emulator of this run: STARTTLS with a certificate made at start, login required, on a free loopback port.</summary>
    public SmtpEmulator Smtp { get; } = smtp;

    public static SmtpEmulator StartSmtpEmulator() => SmtpEmulator.Start(new SmtpEmulatorOptions
    {
        Certificate = SmtpEmulator.CreateSelfSignedCertificate(),
        UserName = SmtpUserName,
        Password = SmtpPassword,
    });

    /// <summary>A host that never resolves: requests to it are sent to the server itself by <see cref="SandboxLoopbackHandler"/>.</summary>
    public const string SentinelHost = "sandbox.invalid";

    public string EmulatorPrefix { get; } = "/" + emulatorPrefix.Trim('/');

    public Uri EmulatorBaseUrl(string vendor) => new($"http://{SentinelHost}{EmulatorPrefix}/{vendor}/");

    /// <summary>
    /// The configuration with the sandbox vendor sections on top, so sandbox mode never calls a real vendor whatever
    /// credentials are configured; everything else (routing order, OTP rules, a fixed webhook token) still comes from
    /// the configuration.
    /// </summary>
    public IConfiguration Over(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var token = configuration[$"{SmsActivitiesOptions.Section}:Webhooks:Token"];
        var values = VendorSettings(EmulatorBaseUrl, Smtp);
        // A fresh secret per run unless one is configured: the emulators are told the full URL at start.
        values[$"{SmsActivitiesOptions.Section}:Webhooks:Token"] = string.IsNullOrWhiteSpace(token) ? NewWebhookToken() : token;
        return new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection(values).Build();
    }

    /// <summary>A random webhook token (48 hex characters).</summary>
    public static string NewWebhookToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    /// <summary>The <c>Vendors:*</c> settings of every vendor on its emulator: the emulators' public sandbox credentials at <paramref name="baseUrlOf"/>(vendor).</summary>
    public static Dictionary<string, string?> VendorSettings(Func<string, Uri> baseUrlOf, SmtpEmulator smtp)
    {
        ArgumentNullException.ThrowIfNull(baseUrlOf);
        ArgumentNullException.ThrowIfNull(smtp);
        return new Dictionary<string, string?>
        {
            ["Vendors:Yunpian:BaseUrl"] = baseUrlOf(VendorNames.Yunpian).AbsoluteUri,
            ["Vendors:Yunpian:ApiKey"] = YunpianEmulator.SandboxApiKey,
            ["Vendors:Tencent:BaseUrl"] = baseUrlOf(VendorNames.Tencent).AbsoluteUri,
            ["Vendors:Tencent:SdkAppId"] = TencentEmulator.SandboxSdkAppId,
            ["Vendors:Tencent:AppKey"] = TencentEmulator.SandboxAppKey,
            ["Vendors:Tencent:DefaultSign"] = TencentEmulator.SandboxSign,
            ["Vendors:SendCloud:BaseUrl"] = baseUrlOf(VendorNames.SendCloud).AbsoluteUri,
            ["Vendors:SendCloud:SmsUser"] = SendCloudEmulator.SandboxSmsUser,
            ["Vendors:SendCloud:SmsKey"] = SendCloudEmulator.SandboxSmsKey,
            ["Vendors:SendCloud:AppKey"] = SendCloudEmulator.SandboxAppKey,
            ["Vendors:Yaningai:BaseUrl"] = baseUrlOf(VendorNames.Yaningai).AbsoluteUri,
            ["Vendors:Yaningai:Account"] = YaningaiEmulator.SandboxAccount,
            ["Vendors:Yaningai:ApiKey"] = YaningaiEmulator.SandboxApiKey,
            ["Vendors:Smtp:Host"] = smtp.Host,
            ["Vendors:Smtp:Port"] = smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Vendors:Smtp:Security"] = nameof(SmsActivities.Vendors.Smtp.SmtpSecurity.StartTls),
            ["Vendors:Smtp:UserName"] = SmtpUserName,
            ["Vendors:Smtp:Password"] = SmtpPassword,
            ["Vendors:Smtp:From"] = SmtpFrom,
            // The emulator's certificate is self-signed, made at start.
            ["Vendors:Smtp:AcceptAnyCertificate"] = "true",
        };
    }

    /// <summary>
    /// What a new real account gets set up on the vendor's console before it can send: Tencent sends a text only when
    /// it matches an approved template, so the sandbox account has one approved catch-all template (<c>{1}</c>).
    /// </summary>
    public static void SeedAccounts(EmulatorSet emulators)
    {
        ArgumentNullException.ThrowIfNull(emulators);
        emulators.Tencent.SeedTemplate("{1}");
    }

    /// <summary>A message as the emulated handset shows it.</summary>
    public sealed record HandsetMessage(string Vendor, string Kind, string? Text, DateTimeOffset At);

    /// <summary>
    /// What the handset of <paramref name="mobile"/> received from every emulator (SMS, and YANINGAI voice calls with
    /// what they read out), oldest first: how a sandbox user reads a one-time code, as a real user reads their phone.
    /// </summary>
    public static IReadOnlyList<HandsetMessage> HandsetInbox(EmulatorSet emulators, PhoneNumber mobile)
    {
        return HandsetMessages(emulators).Where(m => m.E164 == mobile.E164).Select(m => m.Message).OrderBy(m => m.At).ToArray();
    }

    /// <summary>
    /// Everything every emulator handed to any handset, with the handset's number in E.164: the vendors' own record of
    /// what was sent, e.g. to count who got a message twice or never.
    /// </summary>
    public static IReadOnlyList<(string E164, HandsetMessage Message)> HandsetMessages(EmulatorSet emulators)
    {
        ArgumentNullException.ThrowIfNull(emulators);
        static string E164(string number) => PhoneNumber.TryParse(number, out var parsed, out _) ? parsed.E164 : number;
        return emulators.Yunpian.Sent.Select(m => (m.E164, new HandsetMessage(VendorNames.Yunpian, "sms", m.Text, m.At)))
            .Concat(emulators.Tencent.Sent.Where(m => m.Accepted).Select(m => (E164(m.Mobile), new HandsetMessage(VendorNames.Tencent, "sms", m.Text, m.SentAt))))
            .Concat(emulators.SendCloud.Sent.Select(m => (E164(m.Phone), new HandsetMessage(VendorNames.SendCloud, m.Api, m.Content, m.At))))
            .Concat(emulators.Yaningai.Messages.Select(m => (m.Mobile, new HandsetMessage(VendorNames.Yaningai, m.Kind, m.Content ?? string.Join(" ", m.TemplateParams), m.At))))
            .ToArray();
    }

    /// <summary>Every push address of every emulator, set to the matching webhook of this server.</summary>
    public static void PointPushesAt(EmulatorSet emulators, Uri server, string token, string webhookPrefix = SmsWebhookEndpoints.DefaultPrefix)
    {
        ArgumentNullException.ThrowIfNull(emulators);
        Uri Hook(string vendor, string kind) => new(server, SmsWebhookEndpoints.PathFor(vendor, kind, token, webhookPrefix).TrimStart('/'));

        emulators.Yunpian.StatusCallbackUrl = Hook(VendorNames.Yunpian, "status");
        emulators.Yunpian.ReplyCallbackUrl = Hook(VendorNames.Yunpian, "reply");
        emulators.Tencent.StatusCallbackUrl = Hook(VendorNames.Tencent, "status");
        emulators.Tencent.ReplyCallbackUrl = Hook(VendorNames.Tencent, "reply");
        emulators.SendCloud.DeliveryHookUrl = Hook(VendorNames.SendCloud, "smshook");
        emulators.SendCloud.ReplyHookUrl = Hook(VendorNames.SendCloud, "smshook");
        emulators.Yaningai.ReportCallbackUrl = Hook(VendorNames.Yaningai, "status");
        emulators.Yaningai.VoiceReportCallbackUrl = Hook(VendorNames.Yaningai, "voice-status");
        emulators.Yaningai.ReplyCallbackUrl = Hook(VendorNames.Yaningai, "reply");
        emulators.Yaningai.EmailReportCallbackUrl = Hook(VendorNames.Yaningai, "email-status");
        emulators.Yaningai.EmailTrackingCallbackUrl = Hook(VendorNames.Yaningai, "email-tracking");
    }
}

/// <summary>Sends requests addressed to <see cref="SandboxSettings.SentinelHost"/> to the server's own loopback address.</summary>
public sealed class SandboxLoopbackHandler(Microsoft.AspNetCore.Hosting.Server.IServer server) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.RequestUri is { } uri && string.Equals(uri.Host, SandboxSettings.SentinelHost, StringComparison.OrdinalIgnoreCase))
        {
            var self = LoopbackAddress(server);
            request.RequestUri = new UriBuilder(uri) { Scheme = self.Scheme, Host = self.Host, Port = self.Port }.Uri;
        }
        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>The first plain-HTTP address the server listens on, with wildcard hosts replaced by 127.0.0.1.</summary>
    public static Uri LoopbackAddress(Microsoft.AspNetCore.Hosting.Server.IServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var addresses = server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];
        var chosen = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault()
                     ?? throw new InvalidOperationException("Sandbox mode needs the server to listen on an address (it calls its own emulators).");
        var builder = new UriBuilder(chosen.Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal));
        if (builder.Host is "0.0.0.0" or "[::]" or "::" or "localhost") builder.Host = "127.0.0.1";
        builder.Path = "/";
        return builder.Uri;
    }
}
