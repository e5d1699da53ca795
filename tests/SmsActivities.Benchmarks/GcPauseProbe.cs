using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;

namespace SmsActivities.Benchmarks;

/// <summary>
/// The garbage collector's pauses (every thread suspended, from the suspension's start to the restart's end) between
/// <see cref="Start"/> and <see cref="Stop"/>, on the <see cref="Stopwatch"/> clock: so a slow request can be told
/// apart as one a pause held up or one that waited for something else.
/// </summary>
internal sealed class GcPauseProbe : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentQueue<GcPause> _pauses = new();
    private long _suspendedAt;
    private int _generation = -1;
    private long _promoted = -1;
    private long _suspendedEnd;
    private volatile bool _recording;

    public void Start() => _recording = true;

    /// <summary>
    /// One pause, as Stopwatch timestamps, with the generation collected (-1: a pause without a collection of its own,
    /// e.g. a background one's) and the bytes that collection kept (what it had to mark and move; -1 when not told).
    /// </summary>
    public readonly record struct GcPause(long Start, long End, int Generation, long PromotedBytes, long Suspended)
    {
        public double Milliseconds => (End - Start) * 1000.0 / Stopwatch.Frequency;

        /// <summary>Of the pause, the time it took to stop every thread (before the collection's own work began).</summary>
        public double SuspendingMilliseconds => Suspended > Start ? (Suspended - Start) * 1000.0 / Stopwatch.Frequency : 0;
    }

    /// <summary>The pauses seen.</summary>
    public IReadOnlyList<GcPause> Stop()
    {
        _recording = false;
        return _pauses.ToList();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(eventSource, EventLevel.Informational, GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName is not { } name) return;
        // The event's own time, not when the listener got it (events are dispatched after the pause).
        var at = Stopwatch.GetTimestamp() - (long)((DateTime.UtcNow - eventData.TimeStamp.ToUniversalTime()).TotalSeconds * Stopwatch.Frequency);
        if (name.StartsWith("GCSuspendEEBegin", StringComparison.Ordinal))
        {
            Interlocked.Exchange(ref _suspendedAt, at);
            Interlocked.Exchange(ref _generation, -1);
            Interlocked.Exchange(ref _promoted, -1);
            Interlocked.Exchange(ref _suspendedEnd, 0);
        }
        else if (name.StartsWith("GCSuspendEEEnd", StringComparison.Ordinal))
            Interlocked.Exchange(ref _suspendedEnd, at);
        else if (name.StartsWith("GCStart", StringComparison.Ordinal) && eventData.PayloadNames?.IndexOf("Depth") is >= 0 and var depth)
            Interlocked.Exchange(ref _generation, Convert.ToInt32(eventData.Payload![depth], System.Globalization.CultureInfo.InvariantCulture));
        else if (name.StartsWith("GCHeapStats", StringComparison.Ordinal))
            Interlocked.Exchange(ref _promoted, Payload(eventData, "TotalPromotedSize0") + Payload(eventData, "TotalPromotedSize1"));
        else if (name.StartsWith("GCRestartEEEnd", StringComparison.Ordinal) && Interlocked.Exchange(ref _suspendedAt, 0) is var begun and > 0)
            _pauses.Enqueue(new GcPause(begun, at, _generation, _promoted, _suspendedEnd));
    }

    private static long Payload(EventWrittenEventArgs eventData, string name) =>
        eventData.PayloadNames?.IndexOf(name) is >= 0 and var i ? Convert.ToInt64(eventData.Payload![i], System.Globalization.CultureInfo.InvariantCulture) : 0;
}
