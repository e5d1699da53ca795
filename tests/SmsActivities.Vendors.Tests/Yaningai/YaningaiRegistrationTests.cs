using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Vendors.Tests.Yaningai;

public class YaningaiRegistrationTests
{
    [Fact]
    public void Missing_credentials_fail_validation_with_the_setting_name()
    {
        using var services = YaningaiTestKit.Services(new Uri("http://127.0.0.1:1/"), new Dictionary<string, string?> { ["Vendors:Yaningai:ApiKey"] = null });

        var ex = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<YaningaiOptions>>().Value);
        Assert.Contains("Vendors:Yaningai:ApiKey", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_to_the_public_host_and_the_known_codeIds()
    {
        using var services = YaningaiTestKit.Services(new Uri("http://127.0.0.1:1/"), new Dictionary<string, string?> { ["Vendors:Yaningai:BaseUrl"] = null });

        var options = services.GetRequiredService<IOptions<YaningaiOptions>>().Value;
        Assert.Equal(new Uri("http://api.yaningai.com/"), options.BaseUrl);
        Assert.Equal("10001", options.CodeIds["CN"]);
        Assert.Equal(YaningaiTestKit.IndonesiaCodeId, options.CodeIds["62"]);
    }

    [Fact]
    public void Registers_the_sender_for_each_contract_and_the_five_readers()
    {
        using var services = YaningaiTestKit.Services(new Uri("http://127.0.0.1:1/"));

        var sms = services.GetRequiredService<ISmsSender>();
        Assert.IsType<YaningaiSender>(sms);
        Assert.IsType<YaningaiSender>(services.GetRequiredService<IVoiceOtpSender>());
        Assert.IsType<YaningaiSender>(services.GetRequiredService<IEmailSender>());
        Assert.Equal(10_000, sms.MaxRecipientsPerCall);
        // No pull API in the YANINGAI doc: reports and replies arrive by push only.
        Assert.False(sms.Capabilities.HasFlag(VendorCapabilities.PullReports));
        Assert.False(sms.Capabilities.HasFlag(VendorCapabilities.PullReplies));
        Assert.True(sms.Capabilities.HasFlag(VendorCapabilities.Mms | VendorCapabilities.VoiceNotice | VendorCapabilities.VoiceOtp | VendorCapabilities.Email | VendorCapabilities.Replies));
        Assert.Null(services.GetService<IReportPuller>());

        var readers = services.GetServices<IWebhookReader>().Where(r => r.Vendor == VendorNames.Yaningai).Select(r => r.Kind).Order().ToArray();
        Assert.Equal(["email-status", "email-tracking", "reply", "status", "voice-status"], readers);
    }
}
