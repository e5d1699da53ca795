using System.Text.Json.Serialization;

namespace SmsActivities.Emulators;

/// <summary>What a faulted call does. The two "accept" kinds are the ones a sender cannot see through: the vendor did its work.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EmulatorFault>))]
public enum EmulatorFault
{
    /// <summary>Answer the failure status without handling the call (an outage in front of the vendor: nothing was sent).</summary>
    Refuse,
    /// <summary>Handle the call (an SMS is sent, delivered and reported), then answer the failure status instead of the real answer.</summary>
    AcceptThenFail,
    /// <summary>Handle the call (an SMS is sent, delivered and reported), then never answer: the caller's attempt times out.</summary>
    AcceptThenTimeout,
}

/// <summary>
/// The outage knobs every emulator has: make its next API calls (or a share of them) fail or answer late, so callers'
/// retry, timeout and failover handling can be exercised (tests) or an outage simulated (sandbox, through
/// <c>POST {prefix}/{vendor}/_faults</c>). Applied to every vendor API call by
/// <see cref="EmulatorEndpoints.UseVendorEmulators"/>, after the call is recorded and before the emulator sees it.
/// Delays are real time (they must outlast the caller's attempt timeout), not scaled by the emulator clock.
/// </summary>
public sealed class EmulatorFaults
{
    public const int DefaultFailureStatus = 503;

    private readonly Lock _gate = new();
    private Random _random;
    private int _failures;
    private int _failureStatus = DefaultFailureStatus;
    private EmulatorFault _fault = EmulatorFault.Refuse;
    private double _rate;
    private int _delays;
    private int _undelayed;
    private TimeSpan _delay;
    private int _injected;

    public EmulatorFaults() => _random = new Random();

    /// <summary>The next <paramref name="count"/> calls answer <paramref name="statusCode"/> with an empty body, unhandled; 0 stops failing.</summary>
    public void FailNextCalls(int count, int statusCode = DefaultFailureStatus) => FailNextCalls(count, EmulatorFault.Refuse, statusCode);

    /// <summary>
    /// The next <paramref name="count"/> calls get <paramref name="fault"/>, answering <paramref name="statusCode"/> where
    /// the fault answers at all; 0 stops failing. The kind and status also apply to <see cref="FailShareOfCalls"/>.
    /// </summary>
    public void FailNextCalls(int count, EmulatorFault fault, int statusCode = DefaultFailureStatus)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        CheckStatus(statusCode);
        lock (_gate) { _failures = count; _fault = fault; _failureStatus = statusCode; }
    }

    /// <summary>
    /// Every call (beyond the counted ones) gets <paramref name="fault"/> with probability <paramref name="rate"/> (0 to 1); 0 stops it.
    /// A <paramref name="seed"/> makes the draws from now on repeatable.
    /// </summary>
    public void FailShareOfCalls(double rate, EmulatorFault fault = EmulatorFault.Refuse, int statusCode = DefaultFailureStatus, int? seed = null)
    {
        if (double.IsNaN(rate) || rate is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(rate), rate, "must be between 0 and 1");
        CheckStatus(statusCode);
        lock (_gate)
        {
            _rate = rate;
            _fault = fault;
            _failureStatus = statusCode;
            if (seed is { } s) _random = new Random(s);
        }
    }

    /// <summary>
    /// The next <paramref name="count"/> calls, after <paramref name="afterCalls"/> more that go through on time (e.g. the
    /// second batch of a send), wait <paramref name="delay"/> before being handled; 0 stops delaying.
    /// </summary>
    public void DelayNextCalls(int count, TimeSpan delay, int afterCalls = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(afterCalls);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        lock (_gate) { _delays = count; _delay = delay; _undelayed = afterCalls; }
    }

    /// <summary>Pending failures and delays, e.g. for the sandbox control's answer.</summary>
    public (int FailNext, int Status, int DelayNext, TimeSpan Delay) Pending
    {
        get { lock (_gate) return (_failures, _failureStatus, _delays, _delay); }
    }

    /// <summary>How many calls got a fault so far (counted or drawn at random), e.g. to report what a stress run injected.</summary>
    public int Injected
    {
        get { lock (_gate) return _injected; }
    }

    /// <summary>What a faulted call does, and the share of calls faulted at random.</summary>
    public (EmulatorFault Fault, double Rate) Kind
    {
        get { lock (_gate) return (_fault, _rate); }
    }

    /// <summary>Takes the knobs one call consumes: how long to wait first, and the fault to apply (null: handle normally).</summary>
    internal (TimeSpan Delay, (EmulatorFault Fault, int Status)? Failure) TakeNext()
    {
        lock (_gate)
        {
            var delay = TimeSpan.Zero;
            if (_delays > 0 && _undelayed > 0) _undelayed--;
            else if (_delays > 0) { _delays--; delay = _delay; }
            (EmulatorFault, int)? failure = null;
            if (_failures > 0) { _failures--; failure = (_fault, _failureStatus); }
            else if (_rate > 0 && _random.NextDouble() < _rate) failure = (_fault, _failureStatus);
            if (failure is not null) _injected++;
            return (delay, failure);
        }
    }

    private static void CheckStatus(int statusCode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 100);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
    }
}
