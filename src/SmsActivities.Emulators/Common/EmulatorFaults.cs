namespace SmsActivities.Emulators;

/// <summary>
/// The outage knobs every emulator has: make its next API calls fail with a 5xx or answer late, so callers'
/// retry and timeout handling can be exercised (tests) or an outage simulated (sandbox, through
/// <c>POST {prefix}/{vendor}/_faults</c>). Applied to every vendor API call by
/// <see cref="EmulatorEndpoints.UseVendorEmulators"/>, after the call is recorded and before the emulator sees it.
/// Delays are real time (they must outlast the caller's attempt timeout), not scaled by the emulator clock.
/// </summary>
public sealed class EmulatorFaults
{
    public const int DefaultFailureStatus = 503;

    private readonly Lock _gate = new();
    private int _failures;
    private int _failureStatus = DefaultFailureStatus;
    private int _delays;
    private TimeSpan _delay;

    /// <summary>The next <paramref name="count"/> calls answer <paramref name="statusCode"/> with an empty body; 0 stops failing.</summary>
    public void FailNextCalls(int count, int statusCode = DefaultFailureStatus)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        lock (_gate) { _failures = count; _failureStatus = statusCode; }
    }

    /// <summary>The next <paramref name="count"/> calls wait <paramref name="delay"/> before being handled; 0 stops delaying.</summary>
    public void DelayNextCalls(int count, TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        lock (_gate) { _delays = count; _delay = delay; }
    }

    /// <summary>Pending failures and delays, e.g. for the sandbox control's answer.</summary>
    public (int FailNext, int Status, int DelayNext, TimeSpan Delay) Pending
    {
        get { lock (_gate) return (_failures, _failureStatus, _delays, _delay); }
    }

    /// <summary>Takes the knobs one call consumes: how long to wait first, and the status to fail with (null: handle normally).</summary>
    internal (TimeSpan Delay, int? FailStatus) TakeNext()
    {
        lock (_gate)
        {
            var delay = TimeSpan.Zero;
            if (_delays > 0) { _delays--; delay = _delay; }
            int? status = null;
            if (_failures > 0) { _failures--; status = _failureStatus; }
            return (delay, status);
        }
    }
}
