using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace SmsActivities.Vendors.Yunpian;

public static class YunpianServiceCollectionExtensions
{
    /// <summary>
    /// Registers Yunpian from <paramref name="section"/> (conventionally <c>Vendors:Yunpian</c>: ApiKey, Region, BaseUrl, …):
    /// <see cref="YunpianOptions"/> validated on start, the typed <see cref="YunpianClient"/> with transient retries,
    /// <see cref="YunpianSmsSender"/> (as ISmsSender, IReportPuller, IReplyPuller) and both push readers.
    /// </summary>
    public static IServiceCollection AddYunpian(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddVendorClient<YunpianClient, YunpianOptions>(section, o => o.ApplyRegionDefault());
        services.AddVendorSender<YunpianSmsSender>();
        services.AddWebhookReader<YunpianStatusReader>();
        services.AddWebhookReader<YunpianReplyReader>();
        return services;
    }
}
