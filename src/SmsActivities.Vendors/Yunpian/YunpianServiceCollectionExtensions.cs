using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SmsActivities.Vendors.Yunpian;

public static class YunpianServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="YunpianOptions"/> (bound from <paramref name="section"/>, conventionally <c>Vendors:Yunpian</c>,
    /// validated on start), the typed <see cref="YunpianClient"/>, <see cref="YunpianSmsSender"/> (as itself,
    /// <see cref="ISmsSender"/>, <see cref="IReportPuller"/> and <see cref="IReplyPuller"/>) and both push readers
    /// (as themselves and as <see cref="IWebhookReader"/>).
    /// </summary>
    public static IServiceCollection AddYunpian(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.TryAddSingleton(TimeProvider.System);
        services.AddVendorClient<YunpianClient, YunpianOptions>(section, o => o.ApplyRegionDefault());
        services.AddTransient<YunpianSmsSender>();
        services.AddTransient<ISmsSender>(sp => sp.GetRequiredService<YunpianSmsSender>());
        services.AddTransient<IReportPuller>(sp => sp.GetRequiredService<YunpianSmsSender>());
        services.AddTransient<IReplyPuller>(sp => sp.GetRequiredService<YunpianSmsSender>());
        services.AddSingleton<YunpianStatusReader>();
        services.AddSingleton<YunpianReplyReader>();
        services.AddSingleton<IWebhookReader>(sp => sp.GetRequiredService<YunpianStatusReader>());
        services.AddSingleton<IWebhookReader>(sp => sp.GetRequiredService<YunpianReplyReader>());
        return services;
    }
}
