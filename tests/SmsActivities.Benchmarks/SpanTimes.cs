using System.Collections.Concurrent;
using System.Diagnostics;

namespace SmsActivities.Benchmarks;

/// <summary>
/// The time spent in each span the runtime and the plug-in open (a run, a SendSms, its vendor call), summed by span name
/// while listening: where a send's time goes, read from the code's own telemetry rather than from timers added to it.
/// Listening makes the sources create their spans, which costs the code measured a little, so timed passes run without it.
/// </summary>
internal sealed class SpanTimes : IDisposable
{
    private readonly ConcurrentDictionary<string, (long Ticks, int Count)> _totals = new(StringComparer.Ordinal);
    private readonly ActivityListener _listener;

    public SpanTimes(params string[] sources)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => sources.Contains(source.Name, StringComparer.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = span => _totals.AddOrUpdate(span.OperationName, (span.Duration.Ticks, 1), (_, t) => (t.Ticks + span.Duration.Ticks, t.Count + 1)),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The mean duration of the spans named <paramref name="name"/> over <paramref name="per"/> operations (zero when none ended).</summary>
    public double Milliseconds(string name, int per) =>
        _totals.TryGetValue(name, out var total) ? TimeSpan.FromTicks(total.Ticks).TotalMilliseconds / per : 0;

    public void Dispose() => _listener.Dispose();
}
