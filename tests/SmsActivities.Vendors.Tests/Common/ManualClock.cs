namespace SmsActivities.Vendors.Tests;

/// <summary>
/// A clock that stands still until a test moves it (for vendors' time windows and anti-abuse limits), or starts
/// shifted from real time (to sign a request outside a vendor's window). Timers still run in real time.
/// </summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    /// <summary>Stands at now + <paramref name="shift"/>.</summary>
    public static ManualClock Shifted(TimeSpan shift) => new(DateTimeOffset.UtcNow + shift);

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
