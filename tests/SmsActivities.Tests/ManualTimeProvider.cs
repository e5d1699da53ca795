namespace SmsActivities.Tests;

/// <summary>A clock the test moves by hand (Microsoft's FakeTimeProvider package cannot be had here).</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
