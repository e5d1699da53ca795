using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace SmsActivities.Vendors.SendCloud;

public static class SendCloudServiceCollectionExtensions
{
    /// <summary>
    /// Registers SendCloud SMS from <paramref name="section"/> (conventionally <c>Vendors:SendCloud</c>: SmsUser, SmsKey, AppKey,
    /// SignatureAlgorithm, BaseUrl, …): <see cref="SendCloudOptions"/> validated on start, the typed <see cref="SendCloudClient"/>
    /// with transient retries, <see cref="SendCloudSmsSender"/> (as ISmsSender, IVoiceOtpSender) and the SMSHook reader.
    /// </summary>
    public static IServiceCollection AddSendCloud(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddVendorClient<SendCloudClient, SendCloudOptions>(section);
        services.AddVendorSender<SendCloudSmsSender>();
        services.AddWebhookReader<SendCloudSmsHookReader>();
        return services;
    }
}
