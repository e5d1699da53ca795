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
using Microsoft.AspNetCore.Builder;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Hosting;

public static class SmsActivitiesServiceCollectionExtensions
{
    /// <summary>
    /// Registers everything the plug-in needs in one call: the workflow runtime (unless the host registered it with
    /// <c>AddWorkflowRuntime</c> first), the vendors configured under <c>Vendors</c>, the router, OTP service, opt-out
    /// list, the plug-in's database, telemetry, the stimulus publisher, the pull pollers and the activities. Options are
    /// validated on start. <paramref name="configure"/> sets the same things in code (vendors, database, workflows).
    /// Database, unless set: <c>ConnectionStrings:Workflows</c> (SQLite or PostgreSQL, see <see cref="DatabaseSettings"/>),
    /// else SQLite files under <c>data/</c>. The plug-in's tables share the runtime's database (on PostgreSQL in schema
    /// <c>sms</c>), so a send's completion commits with its run; on SQLite <c>SmsActivities:ConnectionString</c> can
    /// give them a file of their own. The push inbox has a SQLite file of its own, <c>sms-inbox.db</c> in the data folder.
    /// Pair with <see cref="MapSmsActivities"/>.
    /// </summary>
    public static IServiceCollection AddSmsActivities(this IServiceCollection services, IConfiguration configuration, Action<SmsActivitiesBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = new SmsActivitiesBuilder(services);
        configure?.Invoke(builder);
        configuration = builder.Effective(configuration);
        // A host that registered the runtime itself keeps its files where it put them: the plug-in's SQLite side files
        // (the push inbox's) go beside the runtime's file unless a folder is given here.
        var hostRuntime = services.Any(d => d.ServiceType == typeof(IOptions<WorkflowRuntimeOptions>));
        var folder = builder.SqliteFolder ?? Path.GetFullPath("data");
        var database = builder.Database ?? DatabaseSettings.FromConfiguration(configuration, Path.Combine(folder, "smsactivities.db"));
        AddRuntime(services, configuration, builder, database);

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
        // The plug-in's tables are in the runtime's database (on PostgreSQL in schema "sms"), so a send's records settle in
        // the same transaction as the run that sent it; on SQLite SmsActivities:ConnectionString can give them a file of
        // their own instead. Earlier versions kept them in sms.db in the data folder: moved in at the first start.
        var configured = database.Provider == DatabaseProvider.Sqlite && section["ConnectionString"] is { Length: > 0 } own ? database with { ConnectionString = own } : null;
        services.TryAddSingleton(sp =>
        {
            var runtime = sp.GetRequiredService<RuntimeDatabase>();
            var settings = builder.PluginDatabase is not null ? null
                : configured ?? (runtime.Settings is { } shared ? shared with { MigrateOnStart = database.MigrateOnStart } : database);
            return new PluginDatabase(settings, runtime, sp.GetRequiredService<DbContextOptions<SmsActivitiesDbContext>>, hostRuntime ? builder.SqliteFolder : folder);
        });
        // Pooled, as the runtime's: the report path takes a context for each of its reads and writes.
        services.AddPooledDbContextFactory<SmsActivitiesDbContext>((sp, o) =>
        {
            if (builder.PluginDatabase is { } custom) custom(o);
            else ConfigurePluginDatabase(o, sp.GetRequiredService<PluginDatabase>(), sp.GetRequiredService<SqliteCheckpointer>());
        });
        services.TryAddSingleton<SmsTelemetry>();
        services.TryAddSingleton<SmsVendorRouter>();
        services.TryAddSingleton<OtpService>();
        services.TryAddSingleton<OptOutList>();
        services.TryAddSingleton<SendRecordWatch>();
        services.TryAddSingleton<SendRecordStore>();
        services.TryAddSingleton<SendReportLedger>();
        services.TryAddSingleton<ReportWaitMarkers>();
        services.TryAddSingleton<SmsStimulusPublisher>();
        // The push inbox: webhooks and pulls store their events there and are answered; its processor runs them.
        services.AddOptions<Inbox.PushInboxOptions>().Bind(configuration.GetSection(Inbox.PushInboxOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddKeyedSingleton<SqliteWriteGate>(SmsActivitiesDbContext.Schema, (sp, _) => sp.GetRequiredService<PluginDatabase>().Writes);
        services.TryAddSingleton(sp => sp.GetRequiredService<PluginDatabase>().InboxFile is not { } inboxFile
            ? new Inbox.PushInboxDatabase(sp.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>(), sp.GetRequiredKeyedService<SqliteWriteGate>(SmsActivitiesDbContext.Schema), null)
            : Inbox.PushInboxDatabase.ForOwnFile(o =>
            {
                ConfigurePluginModel(o, inboxFile, sp.GetRequiredService<SqliteCheckpointer>());
                o.UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>());
            }));
        services.TryAddSingleton<Inbox.PushInboxSignal>();
        services.TryAddSingleton<Inbox.PushInbox>();
        services.TryAddSingleton<Inbox.PushInboxProcessor>();
        services.TryAddSingleton(sp => new Inbox.PushInboxDeadLetters(sp.GetRequiredService<Inbox.PushInboxDatabase>(),
            sp.GetRequiredService<Inbox.PushInboxSignal>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<Inbox.PushInboxService>();
        services.TryAddSingleton<Webhooks.WebhookOneTimeKeyStore>();
        services.AddHostedService<SmsPullService>();
        services.TryAddSingleton<SmsRetention>();
        services.AddHostedService<SmsRetentionService>();
        services.AddHostedService<SmsWarmup>();
        // First among the hosted services: the runtime's background loop may resume an SMS activity (a due timer)
        // as soon as it starts, and that activity needs the plug-in's tables.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService>(sp =>
            new SmsSchemaService(sp.GetRequiredService<DbContextOptions<SmsActivitiesDbContext>>(), sp.GetRequiredService<Inbox.PushInboxDatabase>(), database.MigrateOnStart,
                sp.GetRequiredService<PluginDatabase>().LegacyFile is { } legacyFile ? new LegacyPluginFile(legacyFile, sp.GetRequiredService<SqliteCheckpointer>(),
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger<LegacyPluginFile>()) : null)));

        services.AddWorkflowActivities(ActivityTypes);
        return services;
    }

    private static void ConfigurePluginDatabase(DbContextOptionsBuilder o, PluginDatabase plugin, SqliteCheckpointer checkpointer)
    {
        ConfigurePluginModel(o, plugin.Settings!, checkpointer);
        // In the runtime's SQLite file, a migration history of the plug-in's own beside the runtime's (on PostgreSQL each
        // has one in its schema).
        if (plugin is { Shared: true, Settings.Provider: DatabaseProvider.Sqlite }) DatabaseSettings.UseSqliteHistory(o, PluginSqliteHistoryTable);
    }

    /// <summary>The plug-in's model on <paramref name="settings"/>' database (its own SQLite file, the push inbox's, one of earlier versions, or PostgreSQL).</summary>
    internal static void ConfigurePluginModel(DbContextOptionsBuilder o, DatabaseSettings settings, SqliteCheckpointer checkpointer)
    {
        settings.Configure(o, SmsActivitiesDbContext.Schema);
        CompiledModel.Use(o, () => Persistence.CompiledModels.Sqlite.SqliteSmsDbContextModel.Instance, () => Persistence.CompiledModels.Postgres.PostgresSmsDbContextModel.Instance);
        // The runtime's commit durability for this file too: its send records are begun and settled around every vendor call.
        o.AddInterceptors(new SqlitePragmaInterceptor(checkpointer));
    }

    /// <summary>The plug-in's migration history in the runtime's SQLite file.</summary>
    internal const string PluginSqliteHistoryTable = "__SmsMigrationsHistory";

    /// <summary>
    /// Maps the plug-in's endpoints: one webhook per vendor and push kind under <paramref name="webhookPrefix"/>
    /// (<c>{prefix}/{vendor}/{kind}/{token}</c>, to give each vendor's console) and the HTTP-triggered workflows
    /// (Elsa's HttpEndpoint) under <paramref name="workflowsPrefix"/>; then whatever extensions registered (sandbox).
    /// </summary>
    public static WebApplication MapSmsActivities(this WebApplication app, string webhookPrefix = SmsWebhookEndpoints.DefaultPrefix, string workflowsPrefix = "/workflows")
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapSmsWebhooks(webhookPrefix);
        app.MapWorkflowHttpEndpoints(workflowsPrefix);
        foreach (var mapping in app.Services.GetServices<SmsActivitiesMapping>()) mapping.Map(app, webhookPrefix);
        return app;
    }

    private static void AddRuntime(IServiceCollection services, IConfiguration configuration, SmsActivitiesBuilder builder, DatabaseSettings database)
    {
        // A host that registered the runtime itself keeps its options; the workflows given here are added to them.
        if (services.LastOrDefault(d => d.ServiceType == typeof(IOptions<WorkflowRuntimeOptions>))?.ImplementationInstance is IOptions<WorkflowRuntimeOptions> existing)
        {
            foreach (var configure in builder.Runtime) configure(existing.Value);
        }
        else
        {
            services.AddWorkflowRuntime(runtime =>
            {
                // Workflows:Runtime:LeaseDuration, LeaseWaitTimeout, PollInterval, InboxRetention, DispatchBatchSize, DispatchDelay, MaxParallelRuns, MinThreadPoolThreads (README).
                configuration.GetSection("Workflows:Runtime").Bind(runtime);
                if (builder.RuntimeDatabase is { } custom) runtime.UseDatabase(custom);
                else runtime.UseDatabase(database);
                foreach (var configure in builder.Runtime) configure(runtime);
            });
        }
        services.Configure<WorkflowRetentionOptions>(configuration.GetSection("Workflows:Retention"));
        services.Configure<ScriptOptions>(configuration.GetSection("Workflows:Scripts"));
        services.Configure<HttpEndpointOptions>(configuration.GetSection("Workflows:HttpEndpoints"));
        // The runtime and the plug-in poll their databases every second; at Information EF Core would log each query.
        // Logging:LogLevel:Microsoft.EntityFrameworkCore.Database.Command in configuration still overrides this.
        services.AddLogging(logging => logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.Warning));
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
/// <param name="legacyFile">The plug-in's own file of earlier versions, to move into the runtime's (null: the tables are elsewhere).</param>
internal sealed class SmsSchemaService(DbContextOptions<SmsActivitiesDbContext> options, Inbox.PushInboxDatabase inbox, bool migrate, LegacyPluginFile? legacyFile = null)
    : IHostedService
{
    /// <summary>The table every plug-in database made before migrations has: such a file is adopted at the first migration.</summary>
    private const string LegacyTable = "sms_send_records";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(options, cancellationToken).ConfigureAwait(false);
        // Before the inbox takes over pushes from the plug-in's tables: the old file may hold some.
        if (legacyFile is not null) await legacyFile.MoveIntoAsync(options, EnsureSchemaAsync, cancellationToken).ConfigureAwait(false);
        if (inbox.OwnFile is { } inboxFile)
        {
            await EnsureSchemaAsync(inboxFile, cancellationToken).ConfigureAwait(false);
            await inbox.TakeOverRowsAsync(options, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task EnsureSchemaAsync(DbContextOptions<SmsActivitiesDbContext> file, CancellationToken cancellationToken)
    {
        var probe = new SmsActivitiesDbContext(file);
        await using (probe.ConfigureAwait(false))
            await DatabaseMigrator.EnsureSchemaAsync<SmsActivitiesDbContext>(probe, () => new SqliteSmsDbContext(file), () => new PostgresSmsDbContext(file),
                LegacyTable, migrate, cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
