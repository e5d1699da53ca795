using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace SmsActivities.Benchmarks;

/// <summary>
/// Sums the runtime's allocation samples (one about every 100 KB allocated) by type between <see cref="Start"/> and
/// <see cref="Stop"/>: which types a path allocates most, without a profiler attached.
/// </summary>
internal sealed class AllocationProbe : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private volatile bool _recording;

    public void Start() => _recording = true;

    /// <summary>The types sampled, most allocated first, as "KB type".</summary>
    public IEnumerable<string> Stop()
    {
        _recording = false;
        return _bytes.OrderByDescending(t => t.Value).Select(t => $"{t.Value / 1024,10} KB  {t.Key}");
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.PayloadNames is not { } names) return;
        var type = eventData.Payload![names.IndexOf("TypeName")] as string ?? "?";
        var amount = Convert.ToInt64(eventData.Payload[names.IndexOf("AllocationAmount")], System.Globalization.CultureInfo.InvariantCulture);
        _bytes.AddOrUpdate(type, amount, (_, total) => total + amount);
    }
}
