using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Hosting;

namespace SmsActivities.Workflows.Tests;

/// <summary>A started app that serves workflow HTTP endpoints under <c>/workflows</c> on a test server, with the runtime on a SQLite file.</summary>
internal static class HttpWorkflowApp
{
    /// <param name="console">Where <c>WriteLine</c> writes.</param>
    /// <param name="leaseWait">How long a request waits for a busy instance before it is turned away (short, for busy tests).</param>
    public static async Task<WebApplication> StartAsync(TempDatabase db, TextWriter console, TimeSpan? leaseWait = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(new WorkflowConsole(console));
        // A busy step runs seconds of script, well past the default statement limit on an idle machine; lift the limits so
        // such a step ends by its clock, not by a fault.
        builder.Services.Configure<Expressions.ScriptOptions>(o => (o.MaxStatements, o.MaxMemoryBytes, o.Timeout) = (int.MaxValue, long.MaxValue, TimeSpan.FromMinutes(1)));
        builder.Services.AddWorkflowRuntime(o =>
        {
            o.UseSqlite(db.Path);
            if (leaseWait is { } wait) o.LeaseWaitTimeout = wait;
            o.PollInterval = TimeSpan.FromMilliseconds(50);
        });
        var app = builder.Build();
        app.MapWorkflowHttpEndpoints("/workflows");
        await app.StartAsync();
        return app;
    }
}
