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
    /// else SQLite files under <c>data/</c>. On PostgreSQL the plug-in's tables share the runtime's database; on SQLite
    /// they have their own file (<c>SmsActivities:ConnectionString</c>, else <c>sms.db</c> beside the runtime's).
    /// Pair with <see cref="MapSmsActivities"/>.
    /// </summary>
    public static IServiceCollection AddSmsActivities(this IServiceCollection services, IConfiguration configuration, Action<SmsActivitiesBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = new SmsActivitiesBuilder(services);
        configure?.Invoke(builder);
        configuration = builder.Effective(configuration);
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
        // The plug-in's tables: on PostgreSQL in the runtime's database (schema "sms"); on SQLite in a file of their own
        // (SmsActivities:ConnectionString, else sms.db beside the runtime's), so the two files' writers do not queue on one lock.
        var plugin = database.Provider == DatabaseProvider.Sqlite && section["ConnectionString"] is { Length: > 0 } configured
            ? database with { ConnectionString = configured }
            : database.WithSqliteFile(Path.Combine(folder, "sms.db"));
        // Pooled, as the runtime's: the report path takes a context for each of its reads and writes.
        services.AddPooledDbContextFactory<SmsActivitiesDbContext>((sp, o) =>
        {
            if (builder.PluginDatabase is { } custom) custom(o);
            else ConfigurePluginDatabase(o, plugin, sp.GetRequiredService<SqliteCheckpointer>());
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
        services.TryAddKeyedSingleton<SqliteWriteGate>(SmsActivitiesDbContext.Schema);
        var inboxFile = builder.PluginDatabase is null ? InboxFileBeside(plugin) : null;
        services.TryAddSingleton(sp => inboxFile is null
            ? new Inbox.PushInboxDatabase(sp.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>(), sp.GetRequiredKeyedService<SqliteWriteGate>(SmsActivitiesDbContext.Schema), null)
            : Inbox.PushInboxDatabase.ForOwnFile(o =>
            {
                ConfigurePluginDatabase(o, inboxFile, sp.GetRequiredService<SqliteCheckpointer>());
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
            new SmsSchemaService(sp.GetRequiredService<DbContextOptions<SmsActivitiesDbContext>>(), sp.GetRequiredService<Inbox.PushInboxDatabase>(), database.MigrateOnStart)));

        services.AddWorkflowActivities(ActivityTypes);
        return services;
    }

    private static void ConfigurePluginDatabase(DbContextOptionsBuilder o, DatabaseSettings settings, SqliteCheckpointer checkpointer)
    {
        settings.Configure(o, SmsActivitiesDbContext.Schema);
        CompiledModel.Use(o, () => Persistence.CompiledModels.Sqlite.SqliteSmsDbContextModel.Instance, () => Persistence.CompiledModels.Postgres.PostgresSmsDbContextModel.Instance);
        // The runtime's commit durability for this file too: its send records are begun and settled around every vendor call.
        o.AddInterceptors(new SqlitePragmaInterceptor(checkpointer));
    }

    /// <summary>
    /// The push inbox's own SQLite file beside the plug-in's (<c>sms.db</c> → <c>sms-inbox.db</c>, the same connection
    /// settings); null on PostgreSQL or an in-memory SQLite database, where the inbox shares the plug-in's database.
    /// </summary>
    private static DatabaseSettings? InboxFileBeside(DatabaseSettings plugin)
    {
        if (plugin.Provider != DatabaseProvider.Sqlite) return null;
        var connection = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(plugin.ConnectionString);
        if (connection.DataSource is not { Length: > 0 } file || file == ":memory:" || connection.Mode == Microsoft.Data.Sqlite.SqliteOpenMode.Memory) return null;
        var path = Path.GetFullPath(file);
        connection.DataSource = Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path) + "-inbox" + Path.GetExtension(path));
        return plugin with { ConnectionString = connection.ToString() };
    }

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
internal sealed class SmsSchemaService(DbContextOptions<SmsActivitiesDbContext> options, Inbox.PushInboxDatabase inbox, bool migrate) : IHostedService
{
    /// <summary>The table every plug-in database made before migrations has: such a file is adopted at the first migration.</summary>
    private const string LegacyTable = "sms_send_records";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(options, cancellationToken).ConfigureAwait(false);
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
