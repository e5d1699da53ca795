using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;

namespace SmsActivities.Activities;

/// <summary>
/// The vendor drop-downs of the activities list the vendors this server has configured, not every vendor the
/// plug-in knows: a designer can only pick an account that exists. Studio re-reads descriptors, so a configuration
/// change shows on the next load.
/// </summary>
public abstract class ConfiguredVendorChoices(VendorCapabilityMap vendors, string first, VendorCapabilities needed) : IInputOptionsProvider
{
    public IReadOnlyList<string> GetOptions(InputInfo input) => [first, .. vendors.Supporting(needed)];
}

public sealed class SmsVendorChoices(VendorCapabilityMap vendors) : ConfiguredVendorChoices(vendors, "Auto", VendorCapabilities.Sms);

public sealed class VoiceOtpVendorChoices(VendorCapabilityMap vendors) : ConfiguredVendorChoices(vendors, "Auto", VendorCapabilities.VoiceOtp);

public sealed class EmailVendorChoices(VendorCapabilityMap vendors) : ConfiguredVendorChoices(vendors, "Auto", VendorCapabilities.Email);

/// <summary>Trigger filters: "Any", or one of the configured vendors that can deliver replies or reports.</summary>
public sealed class ReplyVendorChoices(VendorCapabilityMap vendors) : ConfiguredVendorChoices(vendors, "Any", VendorCapabilities.Replies);

public sealed class ReportVendorChoices(VendorCapabilityMap vendors) : ConfiguredVendorChoices(vendors, "Any", VendorCapabilities.PushReports);
