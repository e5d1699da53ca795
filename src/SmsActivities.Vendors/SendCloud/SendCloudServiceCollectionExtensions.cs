using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace SmsActivities.Vendors.SendCloud;

public static class SendCloudServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="SendCloudOptions"/> (bound from <paramref name="section"/>, conventionally <c>Vendors:SendCloud</c>,
    /// validated on start), the typed <see cref="SendCloudClient"/>, <see cref="SendCloudSmsSender"/> (as itself,
    /// <see cref="ISmsSender"/> and <see cref="IVoiceOtpSender"/>) and <see cref="SendCloudSmsHookReader"/> (also as <see cref="IWebhookReader"/>).
    /// </summary>
    public static IServiceCollection AddSendCloud(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.TryAddSingleton(TimeProvider.System);
        services.AddVendorClient<SendCloudClient, SendCloudOptions>(section);
        services.AddTransient<SendCloudSmsSender>();
        services.AddTransient<ISmsSender>(sp => sp.GetRequiredService<SendCloudSmsSender>());
        services.AddTransient<IVoiceOtpSender>(sp => sp.GetRequiredService<SendCloudSmsSender>());
        services.AddSingleton<SendCloudSmsHookReader>();
        services.AddSingleton<IWebhookReader>(sp => sp.GetRequiredService<SendCloudSmsHookReader>());
        return services;
    }
}
