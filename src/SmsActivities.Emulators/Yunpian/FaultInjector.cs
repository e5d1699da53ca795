using Microsoft.AspNetCore.Http;

namespace SmsActivities.Emulators.Yunpian;

/// <summary>
/// Test knob shared by this project's emulators: make the next calls fail with a 5xx or answer late,
/// so callers' retry and timeout handling can be exercised. Delays are real time (they must outlast the
/// caller's attempt timeout), not scaled by the emulator clock.
/// </summary>
public sealed class FaultInjector(TimeProvider time)
{
    private readonly Lock _gate = new();
    private int _failures;
    private int _failureStatus = StatusCodes.Status500InternalServerError;
    private int _delays;
    private TimeSpan _delay;

    /// <summary>The next <paramref name="count"/> calls answer <paramref name="statusCode"/> (5xx) with an empty body.</summary>
    public void FailNext(int count, int statusCode = StatusCodes.Status500InternalServerError)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate) { _failures = count; _failureStatus = statusCode; }
    }

    /// <summary>The next <paramref name="count"/> calls wait <paramref name="delay"/> before being handled.</summary>
    public void DelayNext(int count, TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate) { _delays = count; _delay = delay; }
    }

    /// <summary>Applies the pending fault, if any: null means "handle the call normally".</summary>
    public async Task<IResult?> ApplyAsync(CancellationToken cancellationToken)
    {
        TimeSpan delay;
        int? status = null;
        lock (_gate)
        {
            delay = _delays > 0 ? _delay : TimeSpan.Zero;
            if (_delays > 0) _delays--;
            if (_failures > 0) { _failures--; status = _failureStatus; }
        }
        if (delay > TimeSpan.Zero) await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        return status is { } code ? Results.StatusCode(code) : null;
    }
}
