using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Workflows.Hosting;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the runtime: <see cref="WorkflowRuntime"/>, <see cref="WorkflowDefinitionService"/>,
    /// <see cref="WorkflowInstanceStore"/>, <see cref="ActivityRegistry"/> (built-ins plus
    /// <see cref="WorkflowRuntimeOptions.AddActivity{T}"/>) and the background service.
    /// </summary>
    public static IServiceCollection AddWorkflowRuntime(this IServiceCollection services, Action<WorkflowRuntimeOptions>? configure = null)
    {
        var options = new WorkflowRuntimeOptions();
        configure?.Invoke(options);
        services.AddSingleton(Options.Create(options));
        services.AddOptions<HttpEndpointOptions>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddLogging();
        // Pooled: a context is taken for every read and commit, and a new one pays EF Core's per-instance set-up (its
        // options looked up again in the service provider cache) each time.
        services.AddPooledDbContextFactory<WorkflowDbContext>((sp, b) =>
        {
            options.ConfigureDatabase(b);
            CompiledModel.Use(b, () => Persistence.CompiledModels.Sqlite.SqliteWorkflowDbContextModel.Instance, () => Persistence.CompiledModels.Postgres.PostgresWorkflowDbContextModel.Instance);
            b.AddInterceptors(new SqlitePragmaInterceptor(sp.GetRequiredService<SqliteCheckpointer>()));
        });
        services.TryAddSingleton<SqliteCheckpointer>();
        services.AddHostedService(sp => sp.GetRequiredService<SqliteCheckpointer>());
        services.AddSingleton(sp =>
        {
            var registry = new ActivityRegistry();
            var fromPlugins = sp.GetServices<ActivityTypeRegistration>().Select(r => r.Type);
            foreach (var type in BuiltInActivities.Concat(options.ActivityTypes).Concat(fromPlugins)) registry.Register(type);
            return registry;
        });
        services.AddOptions<ScriptOptions>();
        services.AddHttpClient(HttpRequestActivity.ClientName);
        services.AddSingleton<JavaScriptEvaluator>();
        services.AddSingleton<LiquidEvaluator>();
        services.AddSingleton<ExpressionEvaluator>();
        services.AddSingleton<WorkflowMaterializer>();
        services.AddSingleton<TriggerIndexer>();
        services.AddSingleton(sp => new WorkflowDefinitionService(sp.GetRequiredService<IDbContextFactory<WorkflowDbContext>>(),
            sp.GetRequiredService<WorkflowMaterializer>(), sp.GetRequiredService<TriggerIndexer>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new WorkflowInstanceStore(sp.GetRequiredService<IDbContextFactory<WorkflowDbContext>>()));
        services.AddMetrics();
        services.AddSingleton(sp => new WorkflowTelemetry(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), sp.GetRequiredService<IDbContextFactory<WorkflowDbContext>>()));
        services.AddSingleton(sp => new ClusterLeadership(sp.GetRequiredService<DbContextOptions<WorkflowDbContext>>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ClusterLeadership>>()));
        services.AddSingleton<TimerSignal>();
        services.AddSingleton<SqliteWriteGate>();
        services.AddSingleton(sp => new RuntimeDatabase(sp.GetRequiredService<DbContextOptions<WorkflowDbContext>>(), sp.GetRequiredService<SqliteWriteGate>()));
        services.AddSingleton<ExecutionContextFactory>();
        services.AddSingleton<InstanceOwnership>();
        services.AddSingleton(sp => sp.GetRequiredService<InstanceOwnership>().Leases);
        services.AddSingleton<InstanceCommitter>();
        services.AddSingleton<DeliveryLedger>();
        services.AddSingleton<WorkflowStarter>();
        services.AddSingleton<IChildWorkflowStarter, ChildWorkflowStarter>();
        services.AddSingleton<BookmarkResumer>();
        services.AddSingleton<DeliveryRunner>();
        // The host decides where the key ring lives (never in the workflow database); see DispatchedInputSeal.
        services.AddDataProtection();
        services.AddSingleton<DispatchedInputSeal>();
        services.AddSingleton<BackgroundActivityRuns>();
        services.AddSingleton<StimulusRecorder>();
        services.AddSingleton<StimulusSender>();
        services.AddSingleton<DispatchSignal>();
        services.AddSingleton<StimulusAcceptor>();
        services.AddSingleton<DeliveryTraces>();
        services.AddSingleton<BatchResumer>();
        services.AddSingleton<PendingDeliveryProcessor>();
        services.AddSingleton<TimerScheduler>();
        services.AddSingleton<InstanceRecovery>();
        services.AddSingleton<InboxPurger>();
        services.AddSingleton<RuntimeWarmup>();
        services.AddSingleton(sp => new WorkflowRuntime(sp.GetRequiredService<IDbContextFactory<WorkflowDbContext>>(), sp.GetRequiredService<WorkflowDefinitionService>(),
            sp.GetRequiredService<StimulusSender>(), sp.GetRequiredService<StimulusAcceptor>(), sp.GetRequiredService<WorkflowStarter>(), sp.GetRequiredService<BookmarkResumer>(),
            sp.GetRequiredService<InstanceOwnership>(), sp.GetRequiredService<InstanceCommitter>(), sp.GetRequiredService<ExecutionContextFactory>()));
        services.AddSingleton(sp => new ActivityTester(sp.GetRequiredService<WorkflowDefinitionService>(), sp.GetRequiredService<ExecutionContextFactory>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new InstanceAlterer(sp.GetRequiredService<IDbContextFactory<WorkflowDbContext>>(), sp.GetRequiredService<WorkflowDefinitionService>(),
            sp.GetRequiredService<ExecutionContextFactory>(), sp.GetRequiredService<InstanceOwnership>(), sp.GetRequiredService<InstanceCommitter>(), sp.GetRequiredService<StimulusSender>()));
        services.AddSingleton(sp => new AlterationPlans(sp.GetRequiredService<IDbContextFactory<WorkflowDbContext>>(), sp.GetRequiredService<InstanceAlterer>(),
            sp.GetRequiredService<InstanceOwnership>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<AlterationPlans>>()));
        services.AddHttpContextAccessor();
        services.AddOptions<WorkflowRetentionOptions>().ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new WorkflowRetention(sp.GetRequiredService<IDbContextFactory<WorkflowDbContext>>(),
            sp.GetRequiredService<IOptions<WorkflowRetentionOptions>>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService<WorkflowRuntimeService>();
        services.AddHostedService<ScheduledTriggerService>();
        services.AddHostedService<LeaseRenewalService>();
        if (options.RunBackgroundService) services.AddHostedService<DeliveryDispatchService>();
        if (options.RunBackgroundService) services.AddHostedService<RetentionService>();
        return services;
    }

    /// <summary>
    /// Adds activity types to the registry from outside <see cref="AddWorkflowRuntime"/>'s options, so a plug-in
    /// registers its activities in its own <c>Add…</c> method, before or after the runtime.
    /// </summary>
    public static IServiceCollection AddWorkflowActivities(this IServiceCollection services, IEnumerable<Type> activityTypes)
    {
        ArgumentNullException.ThrowIfNull(activityTypes);
        foreach (var type in activityTypes) services.AddSingleton(new ActivityTypeRegistration(type));
        return services;
    }

    /// <summary>The activities every runtime knows, under Elsa's type names.</summary>
    public static IReadOnlyList<Type> BuiltInActivities { get; } =
    [
        typeof(Flowchart), typeof(Sequence), typeof(Start), typeof(End), typeof(Finish), typeof(SetVariable), typeof(SetOutput),
        typeof(WriteLine), typeof(FlowDecision), typeof(FlowSwitch), typeof(ForEach), typeof(Fork), typeof(FlowFork), typeof(FlowJoin),
        typeof(Delay), typeof(HttpEndpoint), typeof(WriteHttpResponse), typeof(Correlate), typeof(Event), typeof(PublishEvent), typeof(RunJavaScript), typeof(If), typeof(While), typeof(FlowNode), typeof(Fault),
        typeof(Activities.BuiltIn.Timer), typeof(Cron), typeof(StartAt), typeof(SendHttpRequest), typeof(FlowSendHttpRequest), typeof(ParallelForEach),
        typeof(ExecuteWorkflow), typeof(DispatchWorkflow),
    ];
}

/// <summary>One activity type contributed through <see cref="ServiceCollectionExtensions.AddWorkflowActivities"/>.</summary>
public sealed record ActivityTypeRegistration(Type Type);
