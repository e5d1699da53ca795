using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators;
using SmsActivities.Emulators.SendCloud;
using SmsActivities.Vendors.SendCloud;

namespace SmsActivities.Vendors.Tests.SendCloud;

/// <summary>The real DI registration (typed client + retry pipeline) pointed at the loopback emulator.</summary>
internal static class SendCloudFixture
{
    public static ServiceProvider Services(EmulatorHost host, CapturingLoggerProvider? logs = null, IDictionary<string, string?>? overrides = null) =>
        VendorServices.ForVendor(VendorNames.SendCloud, host.BaseUrlFor(VendorNames.SendCloud), overrides, logs);

    /// <summary>Posts a hand-built, correctly signed form to the emulator, for checks the client's own validation would stop.</summary>
    public static async Task<string> PostRawAsync(EmulatorHost host, string path, Dictionary<string, string> form, bool sign = true)
    {
        if (sign) form["signature"] = SendCloudSignature.SignRequest(form, SendCloudEmulator.SandboxSmsKey, SendCloudSignatureAlgorithm.Sha256);
        using var http = new HttpClient();
        using var content = new FormUrlEncodedContent(form);
        using var response = await http.PostAsync(new Uri(host.BaseUrlFor(VendorNames.SendCloud), path), content);
        Assert.Equal(200, (int)response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
