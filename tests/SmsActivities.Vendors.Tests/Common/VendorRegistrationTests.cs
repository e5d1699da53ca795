using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Vendors.SendCloud;
using SmsActivities.Vendors.Tencent;
using SmsActivities.Vendors.Yaningai;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Vendors.Tests.Common;

/// <summary><c>AddSmsVendors</c>: vendors by configuration alone, and a capability map that tells the truth.</summary>
public class VendorRegistrationTests
{
    private static readonly Uri Unreachable = new("http://127.0.0.1:1/");

    public static TheoryData<string> Vendors => new(VendorNames.All);

    private static ServiceProvider Build(params string[] vendors) =>
        VendorServices.Build(
            vendors.SelectMany(v => VendorServices.Sandbox(v, Unreachable)).ToDictionary(kv => kv.Key, kv => kv.Value),
            (services, config) => services.AddSmsVendors(config.GetSection("Vendors")));

    [Fact]
    public void Only_vendors_with_a_section_are_registered()
    {
        using var sp = Build(VendorNames.Tencent, VendorNames.Yaningai);

        Assert.Equal([VendorNames.Tencent, VendorNames.Yaningai], sp.GetRequiredService<VendorCapabilityMap>().ByVendor.Keys.Order());
        Assert.Equal([VendorNames.Tencent, VendorNames.Yaningai], sp.GetServices<ISmsSender>().Select(s => s.Vendor).Order());
        Assert.Null(sp.GetService<YunpianSmsSender>());
        Assert.Null(sp.GetService<SendCloudSmsSender>());
        Assert.Equal(TencentEmulatorSdkAppId, sp.GetRequiredService<IOptions<TencentOptions>>().Value.SdkAppId);
        Assert.Equal(VendorServices.YaningaiIndonesiaCodeId, sp.GetRequiredService<IOptions<YaningaiOptions>>().Value.CodeIds["62"]);
        Assert.Equal(VendorCapabilities.None, sp.GetRequiredService<VendorCapabilityMap>().For(VendorNames.Yunpian));
    }

    private const string TencentEmulatorSdkAppId = SmsActivities.Emulators.Tencent.TencentEmulator.SandboxSdkAppId;

    [Fact]
    public void Every_vendor_registers_when_configured_and_the_map_answers_who_can_do_what()
    {
        using var sp = Build([.. VendorNames.All]);
        var map = sp.GetRequiredService<VendorCapabilityMap>();

        Assert.Equal(VendorNames.All.Order(), map.ByVendor.Keys.Order());
        Assert.Equal([VendorNames.Yaningai], map.Supporting(VendorCapabilities.Email));
        Assert.Equal([VendorNames.SendCloud, VendorNames.Yaningai], map.Supporting(VendorCapabilities.VoiceOtp));
        Assert.Equal([VendorNames.Yunpian, VendorNames.Tencent], map.Supporting(VendorCapabilities.PullReports | VendorCapabilities.PullReplies));
        Assert.Equal(VendorNames.All, map.Supporting(VendorCapabilities.Sms | VendorCapabilities.InternationalSms | VendorCapabilities.PushReports));
    }

    [Fact]
    public void A_configured_vendor_missing_a_credential_fails_on_start_naming_the_setting()
    {
        using var sp = VendorServices.ForVendor(VendorNames.Yunpian, Unreachable, new Dictionary<string, string?> { ["Vendors:Yunpian:ApiKey"] = null });

        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<YunpianOptions>>().Value);
        Assert.Contains("ApiKey", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Vendors))]
    public async Task Capability_flags_match_what_the_vendor_implements(string vendor)
    {
        using var sp = Build(vendor);
        var profile = Assert.Single(sp.GetServices<IVendorProfile>());
        var capabilities = profile.Capabilities;
        var readerKinds = sp.GetServices<IWebhookReader>().Where(r => r.Vendor == vendor).Select(r => r.Kind).ToHashSet();

        Assert.Equal(vendor, profile.Vendor);
        Assert.Equal(capabilities, sp.GetRequiredService<VendorCapabilityMap>().For(vendor));
        Assert.Equal(capabilities.HasFlag(VendorCapabilities.Sms), profile is ISmsSender);
        Assert.Equal(capabilities.HasFlag(VendorCapabilities.VoiceOtp), profile is IVoiceOtpSender);
        Assert.Equal(capabilities.HasFlag(VendorCapabilities.Email), profile is IEmailSender);
        Assert.Equal(capabilities.HasFlag(VendorCapabilities.PullReports), profile is IReportPuller);
        Assert.Equal(capabilities.HasFlag(VendorCapabilities.PullReplies), profile is IReplyPuller);
        Assert.Equal(capabilities.HasFlag(VendorCapabilities.Mms), profile.GetType().GetMethod("SendMmsAsync") is not null);
        Assert.Equal(capabilities.HasFlag(VendorCapabilities.VoiceNotice), profile.GetType().GetMethod("SendVoiceNoticeAsync") is not null);
        // SendCloud's SMSHook carries both delivery events and replies.
        Assert.Equal(capabilities.HasFlag(VendorCapabilities.PushReports), readerKinds.Overlaps(["status", "smshook"]));
        Assert.Equal(capabilities.HasFlag(VendorCapabilities.Replies), readerKinds.Overlaps(["reply", "smshook"]) || profile is IReplyPuller);
        Assert.Equal(sp.GetRequiredService<ISmsSender>().GetType(), profile.GetType());

        if (!capabilities.HasFlag(VendorCapabilities.TemplateSms))
        {
            // A vendor without template SMS refuses a template message before any call (the host is unreachable).
            var ex = await Assert.ThrowsAsync<VendorValidationException>(() => sp.GetRequiredService<ISmsSender>().SendSmsAsync(
                new SmsMessage { Recipients = TestNumbers.Sequence(1), TemplateId = "1" }));
            Assert.Contains("emplate", ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Vendors))]
    public async Task A_vendors_warm_up_sends_through_its_client_answered_in_process_and_leaves_later_sends_to_the_network(string vendor)
    {
        using var sp = Build(vendor);
        var warmup = Assert.Single(sp.GetServices<IVendorWarmup>());

        // The host is unreachable: the warm-up passes only if no request left the process and each answer read as accepted.
        await warmup.WarmAsync();

        var sender = sp.GetRequiredService<ISmsSender>();
        var message = vendor == VendorNames.SendCloud
            ? new SmsMessage { Recipients = TestNumbers.Sequence(1), TemplateId = "1", TemplateParams = [new("code", "0")] }
            : new SmsMessage { Recipients = TestNumbers.Sequence(1), Text = "after the warm-up" };
        var receipt = await sender.SendSmsAsync(message);
        Assert.False(Assert.Single(receipt.Results).Accepted);
    }
}
