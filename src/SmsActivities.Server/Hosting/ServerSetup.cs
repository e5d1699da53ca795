using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Emulators;
using SmsActivities.Server.ElsaApi;
using SmsActivities.Server.Studio;
using SmsActivities.Workflows.Hosting;

namespace SmsActivities.Server.Hosting;

/// <summary>Composition of the server: services, then the request pipeline.</summary>
public static class ServerSetup
{
    public const string CorsPolicy = "elsa-api";
    public const string ApiPolicy = "api-key";

    /// <summary>Headers Studio reads from the execute response; cross-origin they must be exposed.</summary>
    public static readonly string[] ExposedHeaders = ["x-elsa-workflow-instance-id", "x-elsa-workflow-cannot-start", "x-elsa-response"];

    public static IServiceCollection AddSmsActivitiesServer(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var options = configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
        services.Configure<ServerOptions>(configuration.GetSection(ServerOptions.Section));
        var apiKey = ApiKeys.Effective(options, environment); // fails start-up when a real deployment has no key

        var store = new DataStore(options.DataDirectory, configuration.GetConnectionString("Workflows"));
        services.AddSingleton(store);
        services.AddSingleton(TimeProvider.System);

        // The workflow runtime on the server's database; the repo's workflows/*.json are saved and published on start.
        var workflowsFolder = WorkflowsFolder.Resolve(options, environment);
        services.AddWorkflowRuntime(runtime =>
        {
            runtime.UseDatabase(db => db.UseSqlite(store.ConnectionString));
            runtime.WorkflowsFolder = workflowsFolder;
        });

        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<ApiKeyAuthenticationOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, o => o.Key = apiKey);
        services.AddAuthorizationBuilder()
            .AddPolicy(ApiPolicy, policy => policy.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser());

        services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
        {
            if (options.CorsOrigins.Length > 0) policy.WithOrigins(options.CorsOrigins);
            else if (options.Sandbox || environment.IsDevelopment()) policy.AllowAnyOrigin();
            else policy.SetIsOriginAllowed(_ => false);
            policy.AllowAnyHeader().AllowAnyMethod().WithExposedHeaders(ExposedHeaders);
        }));

        services.AddTrustedProxies(options);
        services.Configure<HttpEndpointOptions>(configuration.GetSection(ServerOptions.Section + ":HttpEndpoints"));
        services.Configure<SmsActivities.Workflows.Runtime.WorkflowRetentionOptions>(configuration.GetSection("Workflows:Retention"));
        services.Configure<SmsActivities.Workflows.Expressions.ScriptOptions>(configuration.GetSection("Workflows:Scripts"));

        services.AddHealthChecks().AddCheck<SqliteHealthCheck>("sqlite").AddCheck<WorkflowFilesHealthCheck>("workflows");
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "SmsActivities server";
            document.Info.Description = "Studio-facing Elsa API (/elsa/api, API key: `Authorization: ApiKey <key>` or `X-Api-Key`), health and sandbox emulators.";
            return Task.CompletedTask;
        }));

        if (options.Sandbox)
        {
            services.AddSingleton(sp => new EmulatorSet(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        }

        services.AddServerTelemetry(configuration);
        services.AddElsaApi();
        services.Configure<ActivityTestOptions>(test =>
        {
            // The plug-in's activities talk to the vendors: in sandbox mode those are the emulators.
            test.RunVendorActivities = options.Sandbox || options.AllowActivityTestsOutsideSandbox;
            test.ReachesVendor = type => type.Assembly == typeof(SmsActivities.Activities.SendSms).Assembly;
            test.NotRunHint = "Run the server in sandbox mode (Server:Sandbox=true), or allow it with Server:AllowActivityTestsOutsideSandbox=true.";
        });
        services.AddSmsPlugin(configuration); // the SMS plug-in, code-first samples and (sandbox) vendors on the emulators
        return services;
    }

    public static WebApplication UseSmsActivitiesServer(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ServerOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SmsActivities.Server");

        // First, so everything after (the per-client OTP limits through HttpEndpoint) sees the client's address.
        app.UseForwardedHeaders();

        var studioDirectory = StudioHosting.ResolvePackageDirectory(options, app.Environment);
        if (studioDirectory is not null) app.UseElsaStudio(studioDirectory);
        else logger.LogWarning("Elsa Studio package not found; /studio is unavailable. Build the server project (it runs npm ci) or set Server:StudioPath.");

        EmulatorSet? emulators = options.Sandbox ? app.Services.GetRequiredService<EmulatorSet>() : null;
        if (emulators is not null) app.UseVendorEmulators(emulators, options.EmulatorPrefix);

        app.UseRouting();
        app.UseCors();
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            ResponseWriter = async (context, report) =>
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsJsonAsync(new
                {
                    status = report.Status.ToString(),
                    sandbox = options.Sandbox,
                    checks = report.Entries.ToDictionary(e => e.Key, e => e.Value.Status.ToString()),
                    problems = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy)
                        .ToDictionary(e => e.Key, e => new { e.Value.Description, e.Value.Data }),
                }).ConfigureAwait(false);
            },
        });
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapServerTelemetry();

        if (studioDirectory is not null) app.MapElsaStudioPages();
        else app.MapMissingStudio();

        app.MapElsaApi("/elsa/api").RequireAuthorization(ApiPolicy).RequireCors(CorsPolicy);
        app.MapSmsPlugin(); // vendor webhooks; in sandbox mode the emulators push to them

        if (emulators is not null) app.MapVendorEmulators(emulators, options.EmulatorPrefix);

        // HTTP-triggered workflows (Elsa.HttpEndpoint) answer under /workflows/…
        app.MapWorkflowHttpEndpoints("/workflows");

        app.Lifetime.ApplicationStarted.Register(() => LogStartup(app, options, logger, studioDirectory is not null));
        return app;
    }

    private static void LogStartup(WebApplication app, ServerOptions options, ILogger logger, bool studio)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var first = addresses.FirstOrDefault()?.Replace("://[::]", "://localhost", StringComparison.Ordinal).Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).TrimEnd('/') ?? "";
        var store = app.Services.GetRequiredService<DataStore>();
        logger.LogInformation("SmsActivities server listening on {Addresses}", string.Join(", ", addresses));
        logger.LogInformation("Data folder: {DataDirectory}", store.DataDirectory);
        var folder = WorkflowsFolder.Resolve(options, app.Environment);
        logger.LogInformation("Workflow definitions loaded from: {Folder}", folder ?? "(none found)");
        if (studio) logger.LogInformation("Elsa Studio: {Url}/studio/", first);
        logger.LogInformation("Elsa API: {Url}/elsa/api   OpenAPI: {Url}/openapi/v1.json   Health: {Url}/health", first, first, first);
        if (ApiKeys.IsDefaultKey(options, app.Environment))
        {
            // Only the documented sandbox/development default is ever printed; a configured key is not.
            logger.LogWarning("API key: {ApiKey} (the documented default; set Server:ApiKey for anything but local use)", ServerOptions.SandboxApiKey);
        }
        else
        {
            logger.LogInformation("API key: configured (not shown)");
        }
        logger.LogInformation(options.Sandbox
            ? "Sandbox mode: vendor emulators at {Url}{Prefix}/{{yunpian,tencent,sendcloud,yaningai}}/, mailboxes of the SMTP emulator at {Url}{Prefix}/_mailbox/{{address}}/messages — no real vendor is called"
            : "Sandbox mode off: vendors use the configured credentials", first, options.EmulatorPrefix, first, options.EmulatorPrefix);
    }
}
