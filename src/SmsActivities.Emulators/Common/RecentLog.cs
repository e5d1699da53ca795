using System.Collections.Concurrent;

namespace SmsActivities.Emulators;

/// <summary>
/// The newest entries of something an emulator records for every call or message (requests, sent messages, push
/// attempts, mail), at most <see cref="Capacity"/>: the oldest make room. The emulators run inside the sandbox server
/// for as long as it runs, so nothing they record per message may grow without bound.
/// </summary>
public sealed class RecentLog<T>
{
    private readonly ConcurrentQueue<T> _items = new();
    private int _capacity;
    private long _dropped;

    public RecentLog(int capacity) => Capacity = capacity;

    /// <summary>The most entries kept (0: none). Lowering it drops the oldest at the next entry.</summary>
    public int Capacity
    {
        get => Volatile.Read(ref _capacity);
        set => Volatile.Write(ref _capacity, value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "Capacity must be 0 or more."));
    }

    /// <summary>Entries dropped to keep within <see cref="Capacity"/>: a count read from the log is complete only while this is 0.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Add(T item)
    {
        _items.Enqueue(item);
        while (_items.Count > Capacity && _items.TryDequeue(out _)) Interlocked.Increment(ref _dropped);
    }

    /// <summary>The entries kept, oldest first.</summary>
    public T[] ToArray() => _items.ToArray();

    public void Clear() => _items.Clear();
}

/// <summary>How much of each kind the emulators keep unless told otherwise.</summary>
public static class RecentLogs
{
    /// <summary>Messages sent (SMS per recipient, mail received): what the sandbox's handset inboxes and mailboxes show.</summary>
    public const int SentMessages = 100_000;

    /// <summary>Push attempts (each with its body and the answer's), for tests and the chaos run.</summary>
    public const int PushAttempts = 10_000;
}
