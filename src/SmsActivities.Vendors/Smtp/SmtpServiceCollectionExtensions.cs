using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace SmsActivities.Vendors.Smtp;

public static class SmtpServiceCollectionExtensions
{
    /// <summary>
    /// Registers an SMTP server from <paramref name="section"/> (conventionally <c>Vendors:Smtp</c>: Host, Port, Security,
    /// UserName, Password, From): <see cref="SmtpOptions"/> validated on start and <see cref="SmtpEmailSender"/> as IEmailSender.
    /// </summary>
    public static IServiceCollection AddSmtp(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddOptions<SmtpOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        services.AddVendorSender<SmtpEmailSender>();
        return services;
    }
}
