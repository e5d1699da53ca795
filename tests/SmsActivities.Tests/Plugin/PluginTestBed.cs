using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Emulators;
using SmsActivities.Emulators.SendCloud;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Emulators.Yaningai;
using SmsActivities.Emulators.Yunpian;
using SmsActivities.Hosting;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Webhooks;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Tests.Plugin;

/// <summary>A code-first workflow given as a lambda, so each test states its own flow.</summary>
internal sealed class CodeWorkflow(string id, Action<FlowchartBuilder> build) : IWorkflow
{
    public void Build(WorkflowBuilder builder)
    {
        builder.WithDefinitionId(id).WithName(id);
        build(builder.Flowchart());
    }
}

/// <summary>
/// The whole plug-in as a server would host it, over real loopback HTTP: the vendor emulators on one port; on another,
/// the workflow runtime (SQLite file) with AddSmsActivities (its own SQLite file) and the SMS webhooks, the emulators
/// pushing reports and replies to those webhooks. Every log line is captured so tests can look for leaked secrets.
/// </summary>
internal sealed class PluginTestBed : IAsyncDisposable
{
    public const string Token = "test-webhook-token-0123456789abcdef";
    private readonly string _folder;

    private PluginTestBed(EmulatorHost emulators, WebApplication app, Uri baseAddress, string folder, CapturingLoggerProvider logs)
    {
        Emulators = emulators;
        App = app;
        BaseAddress = baseAddress;
        _folder = folder;
        Logs = logs;
    }

    public EmulatorHost Emulators { get; }
    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public CapturingLoggerProvider Logs { get; }
    public IServiceProvider Services => App.Services;
    public WorkflowRuntime Runtime => Services.GetRequiredService<WorkflowRuntime>();
    public WorkflowInstanceStore Instances => Services.GetRequiredService<WorkflowInstanceStore>();
    public TencentEmulator Tencent => Emulators.Set.Tencent;
    public HttpClient Http { get; } = new();
    /// <summary>The runtime's SQLite file.</summary>
    public string RuntimeDatabasePath => Path.Combine(_folder, "workflows.db");
    /// <summary>The plug-in's tables: in the runtime's SQLite file.</summary>
    public string SmsDatabasePath => RuntimeDatabasePath;

    public Uri WebhookUrl(string vendor, string kind, string token = Token) => new(BaseAddress, SmsWebhookEndpoints.PathFor(vendor, kind, token).TrimStart('/'));

    public static async Task<PluginTestBed> StartAsync(IEnumerable<IWorkflow>? workflows = null, IDictionary<string, string?>? settings = null, TimeProvider? time = null,
        Action<WorkflowRuntimeOptions>? configureRuntime = null)
    {
        var emulators = await EmulatorHost.StartAsync();
        emulators.Set.Clock.Scale = 0.001;
        var folder = Directory.CreateTempSubdirectory("smsplugin-").FullName;
        var values = new Dictionary<string, string?>
        {
            ["Vendors:Tencent:BaseUrl"] = emulators.BaseUrlFor(VendorNames.Tencent).ToString(),
            ["Vendors:Tencent:SdkAppId"] = TencentEmulator.SandboxSdkAppId,
            ["Vendors:Tencent:AppKey"] = TencentEmulator.SandboxAppKey,
            ["Vendors:Tencent:DefaultSign"] = TencentEmulator.SandboxSign,
            ["Vendors:Tencent:MaxRetryAttempts"] = "0",
            ["Vendors:Tencent:AttemptTimeout"] = "00:00:30",
            ["Vendors:Yunpian:BaseUrl"] = emulators.BaseUrlFor(VendorNames.Yunpian).ToString(),
            ["Vendors:Yunpian:ApiKey"] = YunpianEmulator.SandboxApiKey,
            ["Vendors:Yunpian:MaxRetryAttempts"] = "0",
            ["Vendors:Yunpian:AttemptTimeout"] = "00:00:30",
            ["Vendors:SendCloud:BaseUrl"] = emulators.BaseUrlFor(VendorNames.SendCloud).ToString(),
            ["Vendors:SendCloud:SmsUser"] = SendCloudEmulator.SandboxSmsUser,
            ["Vendors:SendCloud:SmsKey"] = SendCloudEmulator.SandboxSmsKey,
            ["Vendors:SendCloud:AppKey"] = SendCloudEmulator.SandboxAppKey,
            ["Vendors:SendCloud:MaxRetryAttempts"] = "0",
            ["Vendors:SendCloud:AttemptTimeout"] = "00:00:30",
            ["Vendors:Yaningai:BaseUrl"] = emulators.BaseUrlFor(VendorNames.Yaningai).ToString(),
            ["Vendors:Yaningai:Account"] = YaningaiEmulator.SandboxAccount,
            ["Vendors:Yaningai:ApiKey"] = YaningaiEmulator.SandboxApiKey,
            ["Vendors:Yaningai:EmailFrom"] = "Acme",
            ["Vendors:Yaningai:MaxRetryAttempts"] = "0",
            ["Vendors:Yaningai:AttemptTimeout"] = "00:00:30",
            // Auto tries Tencent first in these tests; tests of other vendors name them.
            ["SmsActivities:Routing:Order:0"] = VendorNames.Tencent,
            ["SmsActivities:Webhooks:Token"] = Token,
            ["SmsActivities:MaxRecipientsPerSend"] = "500",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) values[key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();

        var logs = new CapturingLoggerProvider();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Information);
        if (time is not null) builder.Services.AddSingleton(time);
        builder.Services.AddWorkflowRuntime(o =>
        {
            o.UseSqlite(Path.Combine(folder, "workflows.db"));
            o.PollInterval = TimeSpan.FromMilliseconds(50);
            foreach (var workflow in workflows ?? []) o.AddWorkflow(workflow);
            configureRuntime?.Invoke(o);
        });
        builder.Services.AddSmsActivities(configuration);
        var app = builder.Build();
        app.MapSmsWebhooks();
        app.MapWorkflowHttpEndpoints();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var bed = new PluginTestBed(emulators, app, new Uri(address.TrimEnd('/') + "/"), folder, logs);
        bed.Tencent.StatusCallbackUrl = bed.WebhookUrl(VendorNames.Tencent, "status");
        bed.Tencent.ReplyCallbackUrl = bed.WebhookUrl(VendorNames.Tencent, "reply");
        bed.Emulators.Set.Yunpian.StatusCallbackUrl = bed.WebhookUrl(VendorNames.Yunpian, "status");
        bed.Emulators.Set.Yunpian.ReplyCallbackUrl = bed.WebhookUrl(VendorNames.Yunpian, "reply");
        bed.Emulators.Set.SendCloud.DeliveryHookUrl = bed.WebhookUrl(VendorNames.SendCloud, "smshook");
        bed.Emulators.Set.SendCloud.ReplyHookUrl = bed.WebhookUrl(VendorNames.SendCloud, "smshook");
        var yaningai = bed.Emulators.Set.Yaningai;
        yaningai.ReportCallbackUrl = bed.WebhookUrl(VendorNames.Yaningai, "status");
        yaningai.VoiceReportCallbackUrl = bed.WebhookUrl(VendorNames.Yaningai, "voice-status");
        yaningai.ReplyCallbackUrl = bed.WebhookUrl(VendorNames.Yaningai, "reply");
        yaningai.EmailReportCallbackUrl = bed.WebhookUrl(VendorNames.Yaningai, "email-status");
        yaningai.EmailTrackingCallbackUrl = bed.WebhookUrl(VendorNames.Yaningai, "email-tracking");
        // Tencent accepts text only when it matches an approved template: one that takes any text keeps tests about the plug-in.
        bed.Tencent.SeedTemplate("{1}");
        return bed;
    }

    public async Task<WorkflowRunResult> RunAsync(string definitionId, IReadOnlyDictionary<string, object?>? input = null) =>
        await Runtime.StartAsync(definitionId, new StartWorkflowRequest { Input = input });

    public async Task<WorkflowState> WaitForAsync(string instanceId, Func<WorkflowState, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var state = await Instances.GetStateAsync(instanceId);
            if (state != null && condition(state)) return state;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Instance {instanceId} did not reach the expected state; last: {state?.SubStatus}, bookmarks {state?.Bookmarks.Count}.");
            await Task.Delay(25);
        }
    }

    public Task<WorkflowState> WaitForFinishAsync(string instanceId, TimeSpan? timeout = null) =>
        WaitForAsync(instanceId, s => s.Status == WorkflowStatus.Finished, timeout);

    /// <summary>The outcomes an activity left by, from the runtime's execution records.</summary>
    public async Task<IReadOnlyList<string>> OutcomesAsync(string instanceId, string activityId) =>
        (await Instances.GetActivityExecutionsAsync(instanceId)).Where(r => r.ActivityId == activityId).SelectMany(r => r.Outcomes).ToArray();

    public async Task<JsonObject> OutputsAsync(string instanceId, string activityId) =>
        (await Instances.GetStateAsync(instanceId))!.ActivityOutputs.GetValueOrDefault(activityId) ?? [];

    /// <summary>
    /// Waits until the push inbox is empty: every acknowledged push has been run (its stimuli are with the runtime).
    /// </summary>
    public async Task InboxDrainedAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (await InboxCountAsync() is var left and > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{left} pushes still in the push inbox.");
            await Task.Delay(25);
        }
    }

    /// <summary>Pushes in the push inbox (its own file on SQLite).</summary>
    public async Task<int> InboxCountAsync()
    {
        await using var db = await Services.GetRequiredService<Inbox.PushInboxDatabase>().Contexts.CreateDbContextAsync();
        return await db.PushInbox.CountAsync();
    }

    public async Task<T> WithDbAsync<T>(Func<SmsActivitiesDbContext, Task<T>> query)
    {
        await using var db = await Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>().CreateDbContextAsync();
        return await query(db);
    }

    /// <summary>Everything the runtime stored about an instance (state, journal, execution records) as text.</summary>
    public async Task<string> EverythingStoredAboutAsync(string instanceId)
    {
        var state = System.Text.Json.JsonSerializer.Serialize(await Instances.GetStateAsync(instanceId), SmsActivities.Workflows.Model.WorkflowJson.Options);
        var journal = System.Text.Json.JsonSerializer.Serialize(await Instances.GetJournalAsync(instanceId), SmsActivities.Workflows.Model.WorkflowJson.Options);
        var records = System.Text.Json.JsonSerializer.Serialize(await Instances.GetActivityExecutionsAsync(instanceId), SmsActivities.Workflows.Model.WorkflowJson.Options);
        return state + journal + records;
    }

    public async Task<string> JournalAndRecordsAsync(string instanceId) =>
        System.Text.Json.JsonSerializer.Serialize(await Instances.GetJournalAsync(instanceId), SmsActivities.Workflows.Model.WorkflowJson.Options) +
        System.Text.Json.JsonSerializer.Serialize(await Instances.GetActivityExecutionsAsync(instanceId), SmsActivities.Workflows.Model.WorkflowJson.Options);

    public IReadOnlyList<RecordedRequest> TencentSends() =>
        Emulators.Set.Requests.For(VendorNames.Tencent).Where(r => r.Path.Contains("sendsms", StringComparison.Ordinal) || r.Path.Contains("sendmultisms2", StringComparison.Ordinal) || r.Path.Contains("sendisms", StringComparison.Ordinal)).ToArray();

    /// <summary>The calls that reached YANINGAI's email endpoint.</summary>
    public IReadOnlyList<RecordedRequest> EmailSends() => Emulators.Set.Requests.For(VendorNames.Yaningai, "/api/v1/email/sendEmail");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        await Emulators.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}

internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public string All => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        // Scopes are recorded too: ASP.NET Core's request scope carries the request path, webhook token included.
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            lines.Enqueue($"Scope {category} {state}");
            return null;
        }
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category} {formatter(state, exception)} {exception}");
    }
}
