using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Execution;

/// <summary>
/// Something that happened outside: it starts workflows whose trigger has the same (name, payload)
/// and resumes bookmarks with the same (name, payload). <see cref="Name"/> is the activity type name
/// (e.g. <c>Elsa.Event</c>). <see cref="DedupeKey"/> makes a second delivery a no-op.
/// </summary>
public sealed record Stimulus(string Name, JsonNode? Payload, JsonObject? Input = null)
{
    public string? CorrelationId { get; init; }
    public string? DedupeKey { get; init; }
    /// <summary>When nothing matches: keep it in the durable inbox (default) or drop it (e.g. an HTTP request answered 404).</summary>
    public bool KeepInInbox { get; init; } = true;
    /// <summary>
    /// For a stimulus that must not wait (<see cref="KeepInInbox"/> false) and matched nothing: remember its
    /// <see cref="DedupeKey"/> anyway, so that a repeat of it (a vendor re-pushing an event whose acknowledgement got
    /// lost) is known as one even if a matching bookmark or trigger appeared in between. Off by default, because every
    /// remembered stimulus is a row written.
    /// </summary>
    public bool RememberWhenUnmatched { get; init; }
    /// <summary>
    /// How long to keep it when it is stored without matching anything (waiting in the inbox, or remembered), if that
    /// is shorter than the inbox retention: for events the publisher knows are useful only briefly (a push about no
    /// message it sent), so a flood of them cannot fill the store. Null: the inbox retention.
    /// </summary>
    public TimeSpan? UnmatchedRetention { get; init; }
    /// <summary>
    /// For a caller that waits for the answer (an HTTP request): a delivery whose instance stays busy past the lease wait
    /// is dropped instead of being retried later, when nobody would see its result; <see cref="Runtime.StimulusResult.Dropped"/>
    /// counts it so the caller can be told to try again.
    /// </summary>
    public bool DropWhenBusy { get; init; }
    /// <summary>Only bookmarks of this instance (e.g. a targeted resume); null means any.</summary>
    public string? WorkflowInstanceId { get; init; }

    public string Hash => BookmarkHasher.Hash(Name, Payload);
}

/// <summary>The stable hash shared by bookmarks, triggers and stimuli: SHA-256 of name + canonical payload JSON.</summary>
public static class BookmarkHasher
{
    // Every delivery report hashes several stimuli: the UTF-8 text is written into one buffer per thread and hashed there,
    // with no string, stream or array made on the way. The bytes are those of
    // UTF8(name + "\n" + WorkflowJson.Canonicalize(payload)), so the hashes of stored bookmarks stay the same.
    [ThreadStatic] private static ArrayBufferWriter<byte>? buffer;
    [ThreadStatic] private static Utf8JsonWriter? writer;

    public static string Hash(string name, JsonNode? payload)
    {
        ArgumentNullException.ThrowIfNull(name);
        var text = buffer ??= new ArrayBufferWriter<byte>(256);
        text.ResetWrittenCount();
        text.Advance(Encoding.UTF8.GetBytes(name, text.GetSpan(Encoding.UTF8.GetMaxByteCount(name.Length) + 1)));
        text.GetSpan(1)[0] = (byte)'\n';
        text.Advance(1);
        var json = writer ??= new Utf8JsonWriter(text);
        json.Reset(text);
        WorkflowJson.WriteCanonical(json, payload);
        json.Flush();
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(text.WrittenSpan, hash);
        // A payload of unusual size must not keep its buffer for the thread's life.
        if (text.Capacity > 64 * 1024) buffer = null;
        return Convert.ToHexStringLower(hash);
    }
}
