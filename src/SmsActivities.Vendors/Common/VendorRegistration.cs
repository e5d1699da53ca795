using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmsActivities.Vendors.SendCloud;
using SmsActivities.Vendors.Smtp;
using SmsActivities.Vendors.Tencent;
using SmsActivities.Vendors.Yaningai;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Vendors;

/// <summary>The vendors' capabilities, one entry per registered vendor, so callers can ask before they call.</summary>
public sealed class VendorCapabilityMap
{
    public VendorCapabilityMap(IEnumerable<IVendorProfile> profiles)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        // A vendor's sender is registered once as its profile; several profiles of one vendor would be a registration bug.
        ByVendor = profiles.ToDictionary(p => p.Vendor, p => p.Capabilities, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Vendor key (<see cref="VendorNames"/>) → what it can do.</summary>
    public IReadOnlyDictionary<string, VendorCapabilities> ByVendor { get; }

    /// <summary>What <paramref name="vendor"/> can do; <see cref="VendorCapabilities.None"/> when it is not registered.</summary>
    public VendorCapabilities For(string vendor) => ByVendor.GetValueOrDefault(vendor);

    /// <summary>The registered vendors that have every capability in <paramref name="needed"/>, in <see cref="VendorNames.Providers"/> order.</summary>
    public IReadOnlyList<string> Supporting(VendorCapabilities needed) =>
        VendorNames.Providers.Where(v => ByVendor.TryGetValue(v, out var c) && (c & needed) == needed).ToArray();
}

public static class VendorServiceCollectionExtensions
{
    /// <summary>The configuration section names under <c>Vendors</c>, with the registration each one triggers.</summary>
    private static readonly (string Section, Action<IServiceCollection, IConfiguration> Register)[] Vendors =
    [
        ("Yunpian", (s, c) => s.AddYunpian(c)),
        ("Tencent", (s, c) => s.AddTencent(c)),
        ("SendCloud", (s, c) => s.AddSendCloud(c)),
        ("Yaningai", (s, c) => s.AddYaningai(c)),
        ("Smtp", (s, c) => s.AddSmtp(c)),
    ];

    private static readonly Type[] CallerContracts =
        [typeof(ISmsSender), typeof(IVoiceOtpSender), typeof(IEmailSender), typeof(IReportPuller), typeof(IReplyPuller)];

    /// <summary>
    /// Registers every vendor whose section (<c>Yunpian</c>, <c>Tencent</c>, <c>SendCloud</c>, <c>Yaningai</c>, <c>Smtp</c>) exists under
    /// <paramref name="vendorsSection"/> (conventionally <c>Vendors</c>), so a host configures vendors by configuration alone;
    /// each vendor's options are validated on start. <see cref="VendorCapabilityMap"/> lists the registered ones.
    /// <c>Vendors:DefaultRegion</c> (<see cref="PhoneNumberOptions"/>, CN unless set) is the region typed national numbers are read in.
    /// </summary>
    public static IServiceCollection AddSmsVendors(this IServiceCollection services, IConfiguration vendorsSection)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(vendorsSection);
        services.AddOptions<PhoneNumberOptions>().Bind(vendorsSection).ValidateDataAnnotations().ValidateOnStart();
        foreach (var (name, register) in Vendors)
        {
            var section = vendorsSection.GetSection(name);
            if (section.Exists()) register(services, section);
        }
        services.TryAddSingleton<VendorCapabilityMap>();
        return services;
    }

    /// <summary>
    /// Registers a vendor's normalized sender as itself, as each caller-facing interface it implements
    /// (<see cref="ISmsSender"/>, <see cref="IVoiceOtpSender"/>, <see cref="IEmailSender"/>, <see cref="IReportPuller"/>,
    /// <see cref="IReplyPuller"/>) and as its vendor's <see cref="IVendorProfile"/> (and <see cref="IVendorWarmup"/> when it has one), plus the <see cref="VendorCapabilityMap"/>.
    /// </summary>
    public static IServiceCollection AddVendorSender<TSender>(this IServiceCollection services) where TSender : class, IVendorProfile
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddTransient<TSender>();
        foreach (var contract in CallerContracts.Where(c => c.IsAssignableFrom(typeof(TSender))))
            services.AddTransient(contract, sp => sp.GetRequiredService<TSender>());
        services.AddTransient<IVendorProfile>(sp => sp.GetRequiredService<TSender>());
        if (typeof(IVendorWarmup).IsAssignableFrom(typeof(TSender))) services.AddTransient(sp => (IVendorWarmup)sp.GetRequiredService<TSender>());
        services.TryAddSingleton<VendorCapabilityMap>();
        return services;
    }

    /// <summary>Registers a push reader as itself and as <see cref="IWebhookReader"/>, so a host can enumerate every reader.</summary>
    public static IServiceCollection AddWebhookReader<TReader>(this IServiceCollection services) where TReader : class, IWebhookReader
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton<TReader>();
        services.AddSingleton<IWebhookReader>(sp => sp.GetRequiredService<TReader>());
        return services;
    }
}
