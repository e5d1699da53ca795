using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Emulators;
using SmsActivities.Emulators.SendCloud;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Emulators.Yaningai;
using SmsActivities.Emulators.Yunpian;

namespace SmsActivities.Vendors.Tests;

/// <summary>
/// Builds vendors' real DI registration (options, typed client, retry pipeline) from in-memory configuration,
/// as a host would from appsettings, with every log line captured if asked.
/// </summary>
public static class VendorServices
{
    /// <summary>A country the YANINGAI tests add to both sides' codeId tables.</summary>
    public const string YaningaiIndonesiaCodeId = "10062";

    /// <summary>
    /// The attempt timeout of timeout tests: short, yet long enough that an undelayed attempt on a loaded two-core
    /// machine never reaches it (at 300-500 ms a starved thread pool could time out the retry too, and the test failed).
    /// </summary>
    public const string ShortAttemptTimeout = "00:00:02";

    /// <summary>How late a delayed emulator call answers in timeout tests: well past <see cref="ShortAttemptTimeout"/>.</summary>
    public static readonly TimeSpan SlowAnswer = TimeSpan.FromSeconds(6);

    /// <summary>
    /// Settings (keys <c>Vendors:{vendor}:…</c>) that point a vendor at <paramref name="baseUrl"/> with the emulator's
    /// sandbox credentials and short retry delays. Attempt timeouts leave room for a loaded machine.
    /// </summary>
    public static Dictionary<string, string?> Sandbox(string vendor, Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        var section = "Vendors:" + vendor + ":";
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            [section + "BaseUrl"] = baseUrl.AbsoluteUri,
            [section + "RetryBaseDelay"] = "00:00:00.010",
            [section + "AttemptTimeout"] = "00:00:05",
        };
        var credentials = vendor switch
        {
            VendorNames.Yunpian => new Dictionary<string, string> { ["ApiKey"] = YunpianEmulator.SandboxApiKey },
            VendorNames.Tencent => new Dictionary<string, string> { ["SdkAppId"] = TencentEmulator.SandboxSdkAppId, ["AppKey"] = TencentEmulator.SandboxAppKey },
            VendorNames.SendCloud => new Dictionary<string, string>
            {
                ["SmsUser"] = SendCloudEmulator.SandboxSmsUser, ["SmsKey"] = SendCloudEmulator.SandboxSmsKey, ["AppKey"] = SendCloudEmulator.SandboxAppKey,
            },
            VendorNames.Yaningai => new Dictionary<string, string>
            {
                ["Account"] = YaningaiEmulator.SandboxAccount, ["ApiKey"] = YaningaiEmulator.SandboxApiKey,
                ["EmailFrom"] = "Acme", ["CodeIds:62"] = YaningaiIndonesiaCodeId,
            },
            _ => throw new ArgumentException($"unknown vendor {vendor}", nameof(vendor)),
        };
        foreach (var (key, value) in credentials) settings[section + key] = value;
        return settings;
    }

    /// <summary>Sandbox settings for every vendor, pointed at its emulator on <paramref name="host"/>.</summary>
    public static Dictionary<string, string?> SandboxAll(EmulatorHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return VendorNames.All.SelectMany(v => Sandbox(v, host.BaseUrlFor(v))).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Sandbox settings for every vendor, all pointed at <paramref name="baseUrl"/> (for tests that make no call).</summary>
    public static Dictionary<string, string?> SandboxAll(Uri baseUrl) =>
        VendorNames.All.SelectMany(v => Sandbox(v, baseUrl)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// One vendor registered the way a host does it, through <c>AddSmsVendors</c> with only that vendor's section,
    /// pointed at <paramref name="baseUrl"/> with sandbox credentials (see <see cref="Build"/> for the rest).
    /// </summary>
    public static ServiceProvider ForVendor(string vendor, Uri baseUrl, IDictionary<string, string?>? overrides = null, ILoggerProvider? logs = null, TimeProvider? time = null) =>
        Build(Sandbox(vendor, baseUrl), (services, config) => services.AddSmsVendors(config.GetSection("Vendors")), overrides, logs, time);

    /// <summary>
    /// Applies <paramref name="overrides"/> to <paramref name="settings"/> (a null value removes the setting, as if the
    /// host had not configured it), then registers logging, <paramref name="time"/> if given, and the vendor(s).
    /// </summary>
    public static ServiceProvider Build(
        IDictionary<string, string?> settings,
        Action<IServiceCollection, IConfiguration> register,
        IDictionary<string, string?>? overrides = null,
        ILoggerProvider? logs = null,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(register);
        var values = new Dictionary<string, string?>(settings, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            if (value is null) values.Remove(key);
            else values[key] = value;
        }
        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            if (logs is not null) b.AddProvider(logs);
        });
        if (time is not null) services.AddSingleton(time);
        register(services, config);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>The form fields of a recorded request.</summary>
    public static Dictionary<string, string> Form(RecordedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var form = System.Web.HttpUtility.ParseQueryString(request.Body);
        return form.AllKeys.OfType<string>().ToDictionary(k => k, k => form[k] ?? string.Empty);
    }
}

/// <summary>Phone numbers for tests.</summary>
public static class TestNumbers
{
    /// <summary><paramref name="count"/> distinct mainland numbers starting with <paramref name="prefix"/>.</summary>
    public static IReadOnlyList<PhoneNumber> Sequence(int count, string prefix = "139") =>
        Enumerable.Range(0, count).Select(i => PhoneNumber.Parse($"{prefix}{i:D8}")).ToArray();

    public static IReadOnlyList<PhoneNumber> Of(params string[] e164) => e164.Select(n => PhoneNumber.Parse(n)).ToArray();
}
