using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SmsActivities.Vendors.Tencent;

public static class TencentServiceCollectionExtensions
{
    /// <summary>
    /// Registers Tencent Cloud SMS v5 from a config section (by convention <c>Vendors:Tencent</c>: SdkAppId, AppKey,
    /// DefaultSign, BaseUrl, AttemptTimeout, MaxRetryAttempts, RetryBaseDelay): the typed <see cref="TencentSmsClient"/>,
    /// the normalized <see cref="TencentSmsSender"/> (as ISmsSender, IReportPuller, IReplyPuller) and both webhook readers.
    /// </summary>
    public static IServiceCollection AddTencent(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddVendorClient<TencentSmsClient, TencentOptions>(section);
        services.TryAddTransient<TencentSmsSender>();
        services.AddTransient<ISmsSender>(sp => sp.GetRequiredService<TencentSmsSender>());
        services.AddTransient<IReportPuller>(sp => sp.GetRequiredService<TencentSmsSender>());
        services.AddTransient<IReplyPuller>(sp => sp.GetRequiredService<TencentSmsSender>());
        services.TryAddSingleton<TencentStatusCallbackReader>();
        services.TryAddSingleton<TencentReplyCallbackReader>();
        services.AddSingleton<IWebhookReader>(sp => sp.GetRequiredService<TencentStatusCallbackReader>());
        services.AddSingleton<IWebhookReader>(sp => sp.GetRequiredService<TencentReplyCallbackReader>());
        return services;
    }
}
