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
    public async Task The_defaults_start()
    {
        using var db = new TempDatabase();
        await using var host = await TestHost.StartAsync(db.Path);
        Assert.NotNull(host.Runtime);
    }
}
