using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmsActivities.Vendors;
using SmsActivities.Vendors.Yaningai;

namespace Microsoft.Extensions.DependencyInjection;

public static class YaningaiServiceCollectionExtensions
{
    /// <summary>
    /// Registers YANINGAI from <paramref name="section"/> (by convention <c>Vendors:Yaningai</c>: Account, ApiKey,
    /// BaseUrl, CodeIds, …): options validated on start, the typed <see cref="YaningaiClient"/> with transient
    /// retries, <see cref="YaningaiSender"/> as SMS, voice OTP and email sender, and the five push readers (also as
    /// <see cref="IWebhookReader"/>).
    /// </summary>
    public static IServiceCollection AddYaningai(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        services.TryAddSingleton(TimeProvider.System);
        services.AddVendorClient<YaningaiClient, YaningaiOptions>(section);

        services.TryAddTransient<YaningaiSender>();
        services.AddTransient<ISmsSender>(sp => sp.GetRequiredService<YaningaiSender>());
        services.AddTransient<IVoiceOtpSender>(sp => sp.GetRequiredService<YaningaiSender>());
        services.AddTransient<IEmailSender>(sp => sp.GetRequiredService<YaningaiSender>());

        AddReader<YaningaiSmsReportReader>(services);
        AddReader<YaningaiUplinkReader>(services);
        AddReader<YaningaiVoiceReportReader>(services);
        AddReader<YaningaiEmailReportReader>(services);
        AddReader<YaningaiEmailTrackingReader>(services);
        return services;
    }

    private static void AddReader<TReader>(IServiceCollection services) where TReader : class, IWebhookReader
    {
        services.TryAddSingleton<TReader>();
        services.AddSingleton<IWebhookReader>(sp => sp.GetRequiredService<TReader>());
    }
}
