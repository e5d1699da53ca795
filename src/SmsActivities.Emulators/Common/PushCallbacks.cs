using System.Collections.Concurrent;

namespace SmsActivities.Emulators;

/// <summary>
/// Where each kind of push an emulator sends goes (null: not pushed; reports and replies then wait for the pull API
/// where the vendor has one). Kinds are named like the vendor's webhook readers: <c>status</c>, <c>reply</c>, …
/// </summary>
public sealed class PushCallbacks
{
    private readonly ConcurrentDictionary<string, Uri?> _urls;

    public PushCallbacks(params string[] kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        _urls = new ConcurrentDictionary<string, Uri?>(kinds.Select(k => KeyValuePair.Create(k, (Uri?)null)), StringComparer.Ordinal);
        Kinds = kinds;
    }

    /// <summary>The kinds of push this emulator sends.</summary>
    public IReadOnlyList<string> Kinds { get; }

    /// <summary>The address of one kind of push; setting an unknown kind throws.</summary>
    public Uri? this[string kind]
    {
        get => _urls[kind];
        set
        {
            if (!TrySet(kind, value)) throw new ArgumentException($"no '{kind}' pushes; kinds: {string.Join(", ", Kinds)}", nameof(kind));
        }
    }

    /// <summary>Sets the address of <paramref name="kind"/>; false when this emulator sends no such push.</summary>
    public bool TrySet(string kind, Uri? url)
    {
        if (!_urls.ContainsKey(kind)) return false;
        _urls[kind] = url;
        return true;
    }
}
