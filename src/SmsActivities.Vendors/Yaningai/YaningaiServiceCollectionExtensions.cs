using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace SmsActivities.Vendors.Yaningai;

public static class YaningaiServiceCollectionExtensions
{
    /// <summary>
    /// Registers YANINGAI from <paramref name="section"/> (conventionally <c>Vendors:Yaningai</c>: Account, ApiKey, BaseUrl,
    /// CodeIds, …): <see cref="YaningaiOptions"/> validated on start, the typed <see cref="YaningaiClient"/> with transient
    /// retries, <see cref="YaningaiSender"/> (as ISmsSender, IVoiceOtpSender, IEmailSender) and the five push readers.
    /// </summary>
    public static IServiceCollection AddYaningai(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddVendorClient<YaningaiClient, YaningaiOptions>(section);
        services.AddVendorSender<YaningaiSender>();
        services.AddWebhookReader<YaningaiSmsReportReader>();
        services.AddWebhookReader<YaningaiUplinkReader>();
        services.AddWebhookReader<YaningaiVoiceReportReader>();
        services.AddWebhookReader<YaningaiEmailReportReader>();
        services.AddWebhookReader<YaningaiEmailTrackingReader>();
        return services;
    }
}
