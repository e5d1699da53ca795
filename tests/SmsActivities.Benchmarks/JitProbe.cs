using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace SmsActivities.Benchmarks;

/// <summary>
/// Names the methods the JIT compiles between <see cref="Start"/> and <see cref="Stop"/>, from the runtime's own JIT
/// events: what a first run compiles is what start-up could have done for it.
/// </summary>
internal sealed class JitProbe : EventListener
{
    private const EventKeywords JitKeyword = (EventKeywords)0x10;
    private readonly ConcurrentQueue<string> _methods = new();
    private volatile bool _recording;

    public void Start() => _recording = true;

    public IReadOnlyCollection<string> Stop()
    {
        _recording = false;
        return _methods;
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(eventSource, EventLevel.Verbose, JitKeyword);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventName?.StartsWith("MethodLoadVerbose", StringComparison.Ordinal) != true || eventData.PayloadNames is not { } names) return;
        // The method's optimization tier (bits 7-9 of its flags: 3 quick-jitted, 4 tier 1, 1 minimal optimization, 2
        // optimized): a tier-1 recompile of a method the run already had is not first-time cost.
        var tier = names.IndexOf("MethodFlags") is >= 0 and var f ? (Convert.ToUInt32(eventData.Payload![f], System.Globalization.CultureInfo.InvariantCulture) >> 7) & 7 : 0;
        _methods.Enqueue($"{eventData.Payload![names.IndexOf("MethodNamespace")]}::{eventData.Payload[names.IndexOf("MethodName")]} tier {tier}");
    }
}
