using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// The runtime's start-up warm-up on each provider: its rehearsals (a start's commit, and a waiting instance's accept,
/// lease, resume and group commit in one transaction) run to their end, since a part that fails only logs a warning,
/// and they leave no row behind.
/// </summary>
public sealed class RuntimeWarmupTests
{
    [Theory]
    [MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task The_warm_up_rehearses_a_resume_without_a_warning_and_leaves_no_row(string provider)
    {
        await using var store = await TestStore.CreateAsync(provider);
        var logs = new WarningCollector();
        await using (var host = await TestHost.StartAsync(store, configure: o => o.WarmUpOnStart = true, configureServices: s => s.AddSingleton<ILoggerProvider>(logs)))
        {
            Assert.Empty(logs.Lines);
            await using var db = await host.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
            var left = (Instances: await db.Instances.CountAsync(), Bookmarks: await db.Bookmarks.CountAsync(), Stimuli: await db.Stimuli.CountAsync(),
                Deliveries: await db.Deliveries.CountAsync(), Journal: await db.Journal.CountAsync(), Executions: await db.Executions.CountAsync());
            Assert.True(left == (0, 0, 0, 0, 0, 0), $"rows left: {left}");
        }
    }

    private sealed class WarningCollector : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Lines);

        public void Dispose() { }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel)) lines.Enqueue($"{logLevel} {category} {formatter(state, exception)} {exception}");
            }
        }
    }
}
