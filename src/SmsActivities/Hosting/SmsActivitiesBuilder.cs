using Microsoft.Data.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Hosting;

/// <summary>
/// Code-only setup of <c>AddSmsActivities</c>, in Elsa's style: <c>o.UseYunpian(…).UseSqlite("data").AddWorkflow&lt;MyWorkflow&gt;()</c>.
/// Vendor calls are settings layered over the configuration (the same keys as <c>Vendors:*</c>), so validation and
/// behaviour are those of configuration; what is set here wins.
/// </summary>
public sealed class SmsActivitiesBuilder
{
    private readonly Dictionary<string, string?> _settings = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<Func<IConfiguration, IConfiguration>> _layers = [];

    internal SmsActivitiesBuilder(IServiceCollection services) => Services = services;

    /// <summary>The host's services, for extensions (e.g. the sandbox package) that register their own.</summary>
    public IServiceCollection Services { get; }

    internal List<Action<WorkflowRuntimeOptions>> Runtime { get; } = [];
    internal Action<DbContextOptionsBuilder>? RuntimeDatabase { get; private set; }
    internal Action<DbContextOptionsBuilder>? PluginDatabase { get; private set; }
    internal DatabaseSettings? Database { get; private set; }
    internal string? SqliteFolder { get; private set; }

    /// <summary>Yunpian with its API key (<c>Vendors:Yunpian</c>).</summary>
    public SmsActivitiesBuilder UseYunpian(string apiKey, Uri? baseUrl = null) =>
        Vendor("Yunpian", ("ApiKey", apiKey), ("BaseUrl", baseUrl?.AbsoluteUri));

    /// <summary>Tencent Cloud SMS with the application's id and key and the default signature (<c>Vendors:Tencent</c>).</summary>
    public SmsActivitiesBuilder UseTencent(string sdkAppId, string appKey, string defaultSign, Uri? baseUrl = null) =>
        Vendor("Tencent", ("SdkAppId", sdkAppId), ("AppKey", appKey), ("DefaultSign", defaultSign), ("BaseUrl", baseUrl?.AbsoluteUri));

    /// <summary>SendCloud SMS with the SMS user and key (<c>Vendors:SendCloud</c>).</summary>
    public SmsActivitiesBuilder UseSendCloud(string smsUser, string smsKey, Uri? baseUrl = null) =>
        Vendor("SendCloud", ("SmsUser", smsUser), ("SmsKey", smsKey), ("BaseUrl", baseUrl?.AbsoluteUri));

    /// <summary>YANINGAI (SMS, voice OTP, email) with the account and API key (<c>Vendors:Yaningai</c>).</summary>
    public SmsActivitiesBuilder UseYaningai(string account, string apiKey, Uri? baseUrl = null) =>
        Vendor("Yaningai", ("Account", account), ("ApiKey", apiKey), ("BaseUrl", baseUrl?.AbsoluteUri));

    /// <summary>Any other setting, by its configuration key (e.g. <c>"Vendors:Tencent:MaxRetryAttempts"</c>, <c>"SmsActivities:Routing:Order:0"</c>).</summary>
    public SmsActivitiesBuilder Set(string key, string? value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        _settings[key] = value;
        return this;
    }

    /// <summary>The secret path segment of every webhook URL (<c>SmsActivities:Webhooks:Token</c>, at least 16 random characters).</summary>
    public SmsActivitiesBuilder WithWebhookToken(string token) => Set($"{SmsActivitiesOptions.Section}:Webhooks:Token", token);

    /// <summary>
    /// SQLite files in <paramref name="dataDirectory"/> (created if missing): <c>smsactivities.db</c> for the workflow
    /// runtime and the plug-in's tables, <c>sms-inbox.db</c> for the push inbox. This is the default, with <c>data</c>.
    /// </summary>
    public SmsActivitiesBuilder UseSqlite(string dataDirectory = "data")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        var folder = Path.GetFullPath(dataDirectory);
        return UseDatabase(new DatabaseSettings(DatabaseProvider.Sqlite, SqliteFile(folder, "smsactivities.db")), folder);
    }

    /// <summary>
    /// SQLite or PostgreSQL as <see cref="DatabaseSettings.FromConfiguration"/> reads them (<c>ConnectionStrings:Workflows</c>).
    /// The runtime's and the plug-in's tables share the one database (unless, on SQLite, <c>SmsActivities:ConnectionString</c>
    /// names a file of the plug-in's own); the push inbox's SQLite file goes to <paramref name="sqliteFolder"/>.
    /// </summary>
    public SmsActivitiesBuilder UseDatabase(DatabaseSettings database, string sqliteFolder = "data")
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentException.ThrowIfNullOrWhiteSpace(sqliteFolder);
        Database = database;
        SqliteFolder = Path.GetFullPath(sqliteFolder);
        RuntimeDatabase = null;
        PluginDatabase = null;
        return this;
    }

    /// <summary>PostgreSQL for the runtime's and the plug-in's tables (schemas <c>workflows</c> and <c>sms</c>).</summary>
    public SmsActivitiesBuilder UsePostgreSql(string connectionString) =>
        UseDatabase(new DatabaseSettings(DatabaseProvider.PostgreSql, connectionString));

    /// <summary>
    /// Any EF Core provider for the runtime's and the plug-in's tables. For SQLite and PostgreSQL the migrations of
    /// that provider are applied; another provider gets its tables created from the model.
    /// </summary>
    public SmsActivitiesBuilder UseDatabase(Action<DbContextOptionsBuilder> runtime, Action<DbContextOptionsBuilder> plugin)
    {
        Database = null;
        RuntimeDatabase = runtime ?? throw new ArgumentNullException(nameof(runtime));
        PluginDatabase = plugin ?? throw new ArgumentNullException(nameof(plugin));
        return this;
    }

    /// <summary>A workflow written in C#.</summary>
    public SmsActivitiesBuilder AddWorkflow<T>() where T : IWorkflow, new() => ConfigureRuntime(o => o.AddWorkflow<T>());

    public SmsActivitiesBuilder AddWorkflow(IWorkflow workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        return ConfigureRuntime(o => o.AddWorkflow(workflow));
    }

    /// <summary>A folder of Elsa 3 JSON definitions (<c>*.json</c>), saved and published on start.</summary>
    public SmsActivitiesBuilder AddWorkflowsFrom(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var full = Path.GetFullPath(folder);
        return ConfigureRuntime(o => o.WorkflowsFolder = full);
    }

    /// <summary>Anything else of the workflow runtime (poll interval, lease duration, activities of your own, …).</summary>
    public SmsActivitiesBuilder ConfigureRuntime(Action<WorkflowRuntimeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Runtime.Add(configure);
        return this;
    }

    /// <summary>
    /// For extensions: replaces the configuration the plug-in binds from with one built over it (e.g. the sandbox
    /// package points every vendor at its emulators). Applied after the settings of this builder.
    /// </summary>
    public SmsActivitiesBuilder OverrideConfiguration(Func<IConfiguration, IConfiguration> layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        _layers.Add(layer);
        return this;
    }

    /// <summary>For extensions: something to map when the host calls <c>MapSmsActivities</c>.</summary>
    /// <remarks>The callback gets the app and the webhook prefix <c>MapSmsActivities</c> was given.</remarks>
    public SmsActivitiesBuilder OnMap(Action<WebApplication, string> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        Services.AddSingleton(new SmsActivitiesMapping(map));
        return this;
    }

    internal IConfiguration Effective(IConfiguration configuration)
    {
        var effective = _settings.Count == 0
            ? configuration
            : new ConfigurationBuilder().AddConfiguration(configuration).AddInMemoryCollection(_settings).Build();
        foreach (var layer in _layers) effective = layer(effective);
        return effective;
    }

    private SmsActivitiesBuilder Vendor(string name, params (string Key, string? Value)[] values)
    {
        foreach (var (key, value) in values)
        {
            if (value is null) continue;
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"Vendors:{name}:{key} must not be empty.", key);
            Set($"Vendors:{name}:{key}", value);
        }
        return this;
    }

    private static string SqliteFile(string folder, string file) =>
        new SqliteConnectionStringBuilder { DataSource = Path.Combine(folder, file), Pooling = true }.ToString();
}

/// <summary>Something an extension maps when the host calls <c>MapSmsActivities</c> (see <see cref="SmsActivitiesBuilder.OnMap"/>).</summary>
public sealed record SmsActivitiesMapping(Action<WebApplication, string> Map);
