using Microsoft.Extensions.Options;

namespace SmsActivities.Workflows.Tests;

/// <summary>The runtime's timing settings are checked when the host starts; the error names the setting and its rule.</summary>
public sealed class RuntimeOptionsValidationTests
{
    [Theory]
    [InlineData("LeaseDuration")]
    [InlineData("ClaimDuration")]
    [InlineData("PollInterval")]
    public async Task A_zero_timing_setting_stops_the_host_with_its_name_and_rule(string setting)
    {
        using var db = new TempDatabase();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartAsync(db.Path, configure: o =>
        {
            if (setting == "LeaseDuration") o.LeaseDuration = TimeSpan.Zero;
            else if (setting == "ClaimDuration") o.ClaimDuration = TimeSpan.Zero;
            else o.PollInterval = TimeSpan.Zero;
        }));
        var failure = Assert.Single(e.Failures);
        Assert.True(failure.StartsWith($"Workflows:Runtime:{setting} is 00:00:00; it must be between ", StringComparison.Ordinal), failure);
    }

    [Fact]
    public async Task A_zero_unmatched_cap_stops_the_host_with_its_name_and_rule()
    {
        using var db = new TempDatabase();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartAsync(db.Path, configure: o => o.MaxUnmatchedStimuli = 0));
        var failure = Assert.Single(e.Failures);
        Assert.True(failure.StartsWith("Workflows:Runtime:MaxUnmatchedStimuli is 0; it must be at least 1", StringComparison.Ordinal), failure);
    }

    [Fact]
    public async Task A_negative_thread_reserve_stops_the_host_with_its_name_and_rule()
    {
        using var db = new TempDatabase();
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartAsync(db.Path, configure: o => o.MinThreadPoolThreads = -1));
        var failure = Assert.Single(e.Failures);
        Assert.True(failure.StartsWith("Workflows:Runtime:MinThreadPoolThreads is -1; it must be between 0", StringComparison.Ordinal), failure);
    }

    [Fact]
    public async Task The_runtime_keeps_the_threads_it_was_told_to_ready_on_start()
    {
        using var db = new TempDatabase();
        // More than any default of this machine's, so the start must have raised it (the pool is the process's: never lowered).
        var wanted = 4 * Environment.ProcessorCount + 3;
        await using var host = await TestHost.StartAsync(db.Path, configure: o => o.MinThreadPoolThreads = wanted);
        ThreadPool.GetMinThreads(out var workers, out _);
        Assert.True(workers >= wanted, $"{workers} worker threads kept ready, expected at least {wanted}");
    }

    [Fact]
    public async Task The_defaults_start()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        Assert.NotNull(host.Runtime);
    }
}
