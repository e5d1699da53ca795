using System.Text.Json;
using System.Text.Json.Serialization;
using SmsActivities.Vendors;

namespace SmsActivities.Inbox;

/// <summary>What one push or pull carried, in the order the vendor sent it.</summary>
public sealed record PushEvents(IReadOnlyList<DeliveryReport> Reports, IReadOnlyList<InboundReply> Replies, IReadOnlyList<EmailEvent> EmailEvents)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public int Count => Reports.Count + Replies.Count + EmailEvents.Count;

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <exception cref="JsonException">The row does not hold events of this shape.</exception>
    public static PushEvents FromJson(string json) =>
        JsonSerializer.Deserialize<PushEvents>(json, Json) ?? throw new JsonException("The push inbox row holds no events.");

    /// <summary>Several pushes as one, in inbox order; a vendor's repeat of an event within them counts once.</summary>
    public static PushEvents Concat(IEnumerable<PushEvents> pushes)
    {
        var all = pushes.ToArray();
        return new PushEvents(
            all.SelectMany(p => p.Reports).Distinct().ToArray(),
            all.SelectMany(p => p.Replies).Distinct().ToArray(),
            all.SelectMany(p => p.EmailEvents).Distinct().ToArray());
    }
}
