using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Activities;
using SmsActivities.ElsaApi;
using SmsActivities.Hosting;
using SmsActivities.Sandbox;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.Tests.Embedding;

/// <summary>
/// The plug-in in an app of someone else's, the way the README shows it: the public registration calls only, the
/// management API behind the app's own authorization policy, and the sandbox test helper driving a real workflow.
/// </summary>
public sealed class EmbeddingTests : IAsyncDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("smsembedding-");
    private WebApplication? _app;

    [Fact]
    public async Task SandboxVendors_let_an_app_run_SendSms_then_WaitForDeliveryReport_to_Delivered()
    {
        await using var vendors = await SandboxVendors.StartAsync(timeScale: 0.01);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(vendors.Settings);
        builder.Services.AddSmsActivities(builder.Configuration, sms => sms
            .UseSqlite(_folder.FullName)
            .Set("SmsActivities:Routing:Order:0", "yunpian")
            .AddWorkflow<WelcomeSms>()
            .ConfigureRuntime(o => o.PollInterval = TimeSpan.FromMilliseconds(100)));
        _app = builder.Build();
        _app.MapSmsActivities();
        await _app.StartAsync();
        vendors.ConnectTo(new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));

        var run = await _app.Services.GetRequiredService<WorkflowRuntime>().StartAsync("welcome-sms", new StartWorkflowRequest());
        var instances = _app.Services.GetRequiredService<WorkflowInstanceStore>();
        WorkflowState? state = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((state = await instances.GetStateAsync(run.InstanceId))?.Status != WorkflowStatus.Finished)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The workflow did not finish within 60 s; last: {state?.Status}/{state?.SubStatus}, bookmarks {state?.Bookmarks.Count}");
            await Task.Delay(100);
        }
        var outcomes = (await instances.GetActivityExecutionsAsync(run.InstanceId)).Where(r => r.ActivityId == "wait").SelectMany(r => r.Outcomes).ToArray();
        Assert.True(outcomes.SequenceEqual([WaitForDeliveryReport.Delivered]), $"WaitForDeliveryReport left by [{string.Join(", ", outcomes)}]");
        var inbox = vendors.HandsetInbox("+8613800138000");
        Assert.True(inbox.Any(m => m.Text == "Welcome aboard!"), $"The handset received: {string.Join(" | ", inbox.Select(m => m.Vendor + ": " + m.Text))}");
    }

    [Fact]
    public async Task The_management_API_answers_only_who_the_hosts_own_policy_admits()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSmsActivities(builder.Configuration, sms => sms.UseSqlite(_folder.FullName).WithWebhookToken("embedding-test-token-0123456789"));
        builder.Services.AddAuthentication(HeaderRoleScheme.Name).AddScheme<AuthenticationSchemeOptions, HeaderRoleScheme>(HeaderRoleScheme.Name, null);
        builder.Services.AddAuthorizationBuilder().AddPolicy("workflow-admins", p => p.RequireRole("admin"));
        builder.Services.AddElsaApi(api => api.AuthorizationPolicy = "workflow-admins");
        _app = builder.Build();
        _app.UseAuthentication();
        _app.UseAuthorization();
        _app.MapSmsActivities();
        _app.MapElsaApi();
        await _app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };

        async Task<HttpStatusCode> AsRole(string? role)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/elsa/api/workflow-definitions");
            if (role is not null) request.Headers.Add(HeaderRoleScheme.Header, role);
            // The API-key scheme is not registered with a policy of the host's: a key is no way in.
            request.Headers.Add("X-Api-Key", "anything");
            using var answer = await http.SendAsync(request);
            return answer.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await AsRole(null));
        Assert.Equal(HttpStatusCode.Forbidden, await AsRole("viewer"));
        Assert.Equal(HttpStatusCode.OK, await AsRole("admin"));
    }

    [Fact]
    public void The_management_API_is_never_anonymous()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddElsaApi(_ => { }));
        Assert.Contains("ApiKey", error.Message, StringComparison.Ordinal);
        Assert.Contains("AuthorizationPolicy", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_vendor_set_in_code_is_validated_on_start_like_configuration()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        // Yunpian's region must be Domestic or Us: a wrong value set in code stops the app, naming the setting.
        builder.Services.AddSmsActivities(builder.Configuration, sms => sms.UseSqlite(_folder.FullName)
            .WithWebhookToken("embedding-test-token-0123456789").UseYunpian("key").Set("Vendors:Yunpian:Region", "Mars"));
        _app = builder.Build();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => _app.StartAsync());
        Assert.Contains("Region", error.ToString(), StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { _folder.Delete(recursive: true); }
        catch (IOException) { }
    }

    private sealed class WelcomeSms : IWorkflow
    {
        public void Build(WorkflowBuilder builder)
        {
            builder.WithDefinitionId("welcome-sms");
            var flow = builder.Flowchart();
            var send = flow.Add(new SendSms { Id = "send", Recipients = new("+8613800138000"), Text = new("Welcome aboard!") });
            flow.Connect(send, flow.Add(new WaitForDeliveryReport { Id = "wait", SendSmsActivityId = new("send"), Timeout = new(TimeSpan.FromMinutes(5)) }), SendSms.Sent);
        }
    }

    /// <summary>Stands in for the host's own sign-in: the role comes from a header.</summary>
    private sealed class HeaderRoleScheme(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string Name = "HeaderRole";
        public const string Header = "X-Test-Role";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(Header, out var role)) return Task.FromResult(AuthenticateResult.NoResult());
            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "user"), new Claim(ClaimTypes.Role, role.ToString())], Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Name)));
        }
    }
}
