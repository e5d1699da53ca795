using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.OptOut;
using SmsActivities.Otp;
using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Stimuli;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Webhooks;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Hosting;

public static class SmsActivitiesServiceCollectionExtensions
{
    /// <summary>
    /// Registers the plug-in: the vendors configured under <c>Vendors</c>, the router, OTP service, opt-out list, the
    /// plug-in's database (SQLite from <c>SmsActivities:ConnectionString</c> unless <paramref name="database"/> names the
    /// host's: on PostgreSQL the plug-in's tables then live in the runtime's database), telemetry, the stimulus publisher, the pull pollers, and the activities in the runtime's registry.
    /// The host also calls <c>AddWorkflowRuntime</c>, before or after.
    /// </summary>
    public static IServiceCollection AddSmsActivities(this IServiceCollection services, IConfiguration configuration, DatabaseSettings? database = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var section = configuration.GetSection(SmsActivitiesOptions.Section);
        services.AddOptions<SmsActivitiesOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<OtpOptions>().Bind(section.GetSection("Otp")).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SmsRoutingOptions>().Bind(section.GetSection("Routing"));
        services.AddOptions<SmsRetentionOptions>().Bind(section.GetSection("Retention")).ValidateDataAnnotations().ValidateOnStart();

        // Only vendors with a section under Vendors are registered, so "Auto" never picks an unconfigured account.
        services.AddSmsVendors(configuration.GetSection("Vendors"));

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        RedactWebhookTokenInLogs(services);
        database ??= new DatabaseSettings(DatabaseProvider.Sqlite, section["ConnectionString"] ?? new SmsActivitiesOptions().ConnectionString);
        services.AddDbContextFactory<SmsActivitiesDbContext>(o => database.Configure(o, SmsActivitiesDbContext.Schema));
        services.TryAddSingleton<SmsTelemetry>();
        services.TryAddSingleton<SmsVendorRouter>();
        services.TryAddSingleton<OtpService>();
        services.TryAddSingleton<OptOutList>();
        services.TryAddSingleton<SendRecordStore>();
        services.TryAddSingleton<SmsStimulusPublisher>();
        services.TryAddSingleton<Webhooks.WebhookOneTimeKeyStore>();
        services.AddHostedService<SmsPullService>();
        services.TryAddSingleton<SmsRetention>();
        services.AddHostedService<SmsRetentionService>();
        // First among the hosted services: the runtime's background loop may resume an SMS activity (a due timer)
        // as soon as it starts, and that activity needs the plug-in's tables.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(sp => new SmsSchemaService(sp.GetRequiredService<DbContextOptions<SmsActivitiesDbContext>>(), database.MigrateOnStart)));

        services.AddWorkflowActivities(ActivityTypes);
        return services;
    }

    /// <summary>
    /// ASP.NET Core's request lines ("Request starting POST …/webhooks/sms/tencent/status/{token}") and request scopes
    /// would write the webhook path token, the only credential of vendors that do not sign pushes, to every log sink.
    /// The host's logger factory is wrapped so the token is masked wherever it appears; the host's levels stay its own.
    /// </summary>
    private static void RedactWebhookTokenInLogs(IServiceCollection services)
    {
        services.AddLogging();
        var original = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory));
        if (original is null || original.ImplementationType == typeof(SecretRedactingLoggerFactory)) return;
        services.Remove(original);
        services.TryAddSingleton(sp =>
        {
            string? token;
            try { token = sp.GetRequiredService<IOptions<SmsActivitiesOptions>>().Value.Webhooks.Token; }
            catch (OptionsValidationException) { token = null; }
            return new WebhookLogRedaction(token, [SmsWebhookEndpoints.DefaultPrefix]);
        });
        // Resolved on the first log line, not when the factory is built: options may log while they are being bound.
        services.AddSingleton<ILoggerFactory>(sp => new SecretRedactingLoggerFactory(
            original.ImplementationInstance as ILoggerFactory
            ?? original.ImplementationFactory?.Invoke(sp) as ILoggerFactory
            ?? (ILoggerFactory)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!),
            sp.GetRequiredService<WebhookLogRedaction>));
    }

    /// <summary>Every activity and trigger of the plug-in.</summary>
    public static IReadOnlyList<Type> ActivityTypes { get; } =
    [
        typeof(Activities.SendSms), typeof(Activities.SendVoiceOtp), typeof(Activities.SendEmail), typeof(Activities.VerifyOtp),
        typeof(Activities.WaitForDeliveryReport), typeof(Activities.WaitForReply),
        typeof(Activities.SmsReplyReceived), typeof(Activities.DeliveryReportReceived),
    ];
}

/// <summary>Migrates the plug-in's tables on start (or checks a pipeline did), before anything uses them.</summary>
internal sealed class SmsSchemaService(DbContextOptions<SmsActivitiesDbContext> options, bool migrate) : IHostedService
{
    /// <summary>The table every plug-in database made before migrations has: such a file is adopted at the first migration.</summary>
    private const string LegacyTable = "sms_send_records";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var probe = new SmsActivitiesDbContext(options);
        await using (probe.ConfigureAwait(false))
            await DatabaseMigrator.EnsureSchemaAsync<SmsActivitiesDbContext>(probe, () => new SqliteSmsDbContext(options), () => new PostgresSmsDbContext(options),
                LegacyTable, migrate, cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
