using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace SmsActivities.Vendors.Tencent;

public static class TencentServiceCollectionExtensions
{
    /// <summary>
    /// Registers Tencent Cloud SMS v5 from <paramref name="section"/> (conventionally <c>Vendors:Tencent</c>: SdkAppId, AppKey,
    /// DefaultSign, BaseUrl, …): <see cref="TencentOptions"/> validated on start, the typed <see cref="TencentSmsClient"/> with
    /// transient retries, <see cref="TencentSmsSender"/> (as ISmsSender, IReportPuller, IReplyPuller) and both callback readers.
    /// </summary>
    public static IServiceCollection AddTencent(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddVendorClient<TencentSmsClient, TencentOptions>(section);
        services.AddVendorSender<TencentSmsSender>();
        services.AddWebhookReader<TencentStatusCallbackReader>();
        services.AddWebhookReader<TencentReplyCallbackReader>();
        return services;
    }
}
