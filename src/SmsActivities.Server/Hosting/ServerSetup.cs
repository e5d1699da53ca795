using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Microsoft.Data.Sqlite;
using SmsActivities.ElsaApi;
using SmsActivities.Server.ElsaApi;
using SmsActivities.ElsaStudio;
using SmsActivities.Hosting;
using SmsActivities.Samples;
using SmsActivities.Sandbox;
using SmsActivities.Server.Insights;
using SmsActivities.Workflows.Hosting;

namespace SmsActivities.Server.Hosting;

/// <summary>Composition of the server: services, then the request pipeline.</summary>
public static class ServerSetup
{
    public const string CorsPolicy = "elsa-api";

    /// <summary>Headers Studio reads from the execute response; cross-origin they must be exposed.</summary>
    public static readonly string[] ExposedHeaders = ["x-elsa-workflow-instance-id", "x-elsa-workflow-cannot-start", "x-elsa-response"];

    public static IServiceCollection AddSmsActivitiesServer(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var options = configuration.GetSection(ServerOptions.Section).Get<ServerOptions>() ?? new ServerOptions();
        services.Configure<ServerOptions>(configuration.GetSection(ServerOptions.Section));
        var apiKey = ApiKeys.Effective(options, environment); // fails start-up when a real deployment has no key

        var store = new DataStore(options.DataDirectory, configuration);
        services.AddSingleton(store);
        services.AddDataProtection().SetApplicationName("SmsActivities")
            .PersistKeysToFileSystem(new DirectoryInfo(options.KeysDirectory ?? Path.Combine(store.DataDirectory, "keys")));

        // The plug-in as any app registers it: runtime, vendors, activities; the server's database files, the
        // repository's workflows/*.json and the code-first samples; in sandbox mode every vendor on its emulator.
        var workflowsFolder = WorkflowsFolder.Resolve(options, environment);
        services.AddSmsActivities(configuration, sms =>
        {
            // ConnectionStrings:Workflows picks SQLite (files in the data folder) or PostgreSQL (one database for all).
            sms.UseDatabase(store.Database, store.DataDirectory);
            if (workflowsFolder is not null) sms.AddWorkflowsFrom(workflowsFolder);
            foreach (var workflow in SampleWorkflows.Create()) sms.AddWorkflow(workflow);
            if (options.Sandbox) sms.UseSandboxVendors(options.EmulatorPrefix);
        });

        // The management API behind the server's key; Studio, with that key in its page only when it is the documented default.
        services.AddElsaApi(api => api.ApiKey = apiKey);
        services.Configure<ActivityTestOptions>(test =>
        {
            // The plug-in's activities talk to the vendors; in sandbox mode those are the emulators.
            test.RunVendorActivities = options.Sandbox || options.AllowActivityTestsOutsideSandbox;
            test.ReachesVendor = type => type.Assembly == typeof(SmsActivities.Activities.SendSms).Assembly;
            test.NotRunHint = "Run the server in sandbox mode (Server:Sandbox=true), or allow it with Server:AllowActivityTestsOutsideSandbox=true.";
        });
        services.AddElsaStudio(studio =>
        {
            studio.PackagePath = options.StudioPath;
            if (ApiKeys.IsDefaultKey(options, environment)) studio.EmbeddedApiKey = apiKey;
        });

        services.AddCors(cors => cors.AddPolicy(CorsPolicy, policy =>
        {
            if (options.CorsOrigins.Length > 0) policy.WithOrigins(options.CorsOrigins);
            else if (options.Sandbox || environment.IsDevelopment()) policy.AllowAnyOrigin();
            else policy.SetIsOriginAllowed(_ => false);
            policy.AllowAnyHeader().AllowAnyMethod().WithExposedHeaders(ExposedHeaders);
        }));

        services.AddTrustedProxies(options);
        services.Configure<HttpEndpointOptions>(configuration.GetSection(ServerOptions.Section + ":HttpEndpoints"));

        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database").AddCheck<WorkflowFilesHealthCheck>("workflows");
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "SmsActivities server";
            document.Info.Description = "Studio-facing Elsa API (/elsa/api, API key: `Authorization: ApiKey <key>` or `X-Api-Key`), health and sandbox emulators.";
            return Task.CompletedTask;
        }));

        services.AddServerTelemetry(configuration);
        services.AddInsights();
        return services;
    }

    public static WebApplication UseSmsActivitiesServer(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ServerOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SmsActivities.Server");

        // First, so everything after (the per-client OTP limits through HttpEndpoint) sees the client's address.
        app.UseForwardedHeaders();

        // Before routing: Studio's static files are served ahead of any endpoint.
        app.UseElsaStudio();

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

        app.MapElsaApi("/elsa/api").RequireCors(CorsPolicy);
        // Vendor webhooks, HTTP-triggered workflows under /workflows/… and, in sandbox mode, the emulators pushing to the webhooks.
        app.MapSmsActivities();
        app.MapInboxAdmin();

        var chartScript = InsightsEndpoints.ResolveChartScript(options, app.Environment);
        if (chartScript is null) logger.LogWarning("Chart library not found; /insights shows its numbers without charts. Build the server project (it runs npm ci) or set Server:ChartScriptPath.");
        app.MapInsights(chartScript);

        var studio = StudioHosting.ResolvePackageDirectory(options.StudioPath, app.Environment) is not null;
        app.Lifetime.ApplicationStarted.Register(() => LogStartup(app, options, logger, studio));
        return app;
    }

    private static void LogStartup(WebApplication app, ServerOptions options, ILogger logger, bool studio)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var first = addresses.FirstOrDefault()?.Replace("://[::]", "://localhost", StringComparison.Ordinal).Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal).TrimEnd('/') ?? "";
        var store = app.Services.GetRequiredService<DataStore>();
        logger.LogInformation("SmsActivities server listening on {Addresses}", string.Join(", ", addresses));
        logger.LogInformation("Data folder: {DataDirectory}; database: {Provider}", store.DataDirectory, store.Database.Provider);
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
