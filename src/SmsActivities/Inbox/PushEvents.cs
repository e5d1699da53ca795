using System.Text.Json;
using System.Text.Json.Serialization;
using SmsActivities.Vendors;

namespace SmsActivities.Inbox;

/// <summary>What one push or pull carried, in the order the vendor sent it.</summary>
public sealed record PushEvents(IReadOnlyList<DeliveryReport> Reports, IReadOnlyList<InboundReply> Replies, IReadOnlyList<EmailEvent> EmailEvents)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The W3C trace parent of the request that stored the push, so its processing joins that trace.</summary>
    public string? Trace { get; init; }

    /// <summary>
    /// When this server stored the push (and so acknowledged it to the vendor); not part of the stored JSON, which the
    /// inbox row's own column dates.
    /// </summary>
    [JsonIgnore] public DateTimeOffset? ReceivedAt { get; init; }

    public int Count => Reports.Count + Replies.Count + EmailEvents.Count;

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <exception cref="JsonException">The row does not hold events of this shape.</exception>
    public static PushEvents FromJson(string json) =>
        JsonSerializer.Deserialize<PushEvents>(json, Json) ?? throw new JsonException("The push inbox row holds no events.");

    /// <summary>
    /// Several pushes as one, in inbox order; a vendor's repeat of an event within them counts once, received when its
    /// first push was.
    /// </summary>
    /// <returns>The events, and when each was received (reports, then replies, then email events; null where a push was not dated).</returns>
    public static (PushEvents Events, IReadOnlyList<DateTimeOffset?> ReceivedAt) Concat(IEnumerable<PushEvents> pushes)
    {
        var all = pushes.ToArray();
        var reports = Distinct(all, p => p.Reports);
        var replies = Distinct(all, p => p.Replies);
        var emailEvents = Distinct(all, p => p.EmailEvents);
        var events = new PushEvents(reports.Select(e => e.Event).ToArray(), replies.Select(e => e.Event).ToArray(), emailEvents.Select(e => e.Event).ToArray())
        {
            Trace = all.Select(p => p.Trace).FirstOrDefault(t => t is not null),
        };
        return (events, [.. reports.Select(e => e.At), .. replies.Select(e => e.At), .. emailEvents.Select(e => e.At)]);
    }

    private static List<(T Event, DateTimeOffset? At)> Distinct<T>(PushEvents[] pushes, Func<PushEvents, IReadOnlyList<T>> events)
    {
        var seen = new HashSet<T>();
        return pushes.SelectMany(p => events(p).Select(e => (Event: e, At: p.ReceivedAt))).Where(e => seen.Add(e.Event)).ToList();
    }
}
