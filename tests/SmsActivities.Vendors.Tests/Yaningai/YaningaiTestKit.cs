using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Emulators.Yaningai;
using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Vendors.Tests.Yaningai;

/// <summary>Builds the YANINGAI client the way a host would: configuration → AddSmsVendors → typed client with retries.</summary>
internal static class YaningaiTestKit
{
    /// <summary>A country the tests add to both sides' codeId tables.</summary>
    public const string IndonesiaCodeId = VendorServices.YaningaiIndonesiaCodeId;

    public static ServiceProvider Services(Uri baseUrl, IDictionary<string, string?>? overrides = null, TimeProvider? time = null, ILoggerProvider? logs = null) =>
        VendorServices.ForVendor(VendorNames.Yaningai, baseUrl, overrides, logs, time);

    /// <summary>account/sign/datetime for a raw call, signed with the sandbox key.</summary>
    public static string AuthQuery(DateTimeOffset? at = null, string apiKey = YaningaiEmulator.SandboxApiKey)
    {
        var seconds = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        return $"account={YaningaiEmulator.SandboxAccount}&sign={YaningaiSigner.Sign(YaningaiEmulator.SandboxAccount, apiKey, seconds)}&datetime={seconds.ToString(CultureInfo.InvariantCulture)}";
    }
}
