using System.Globalization;
using SmsActivities.Vendors;

namespace SmsActivities.Activities;

/// <summary>
/// The local hours in which a message may reach its recipient (quiet hours outside them), e.g. 08:00–21:00. Opening
/// is included, closing is not; a window that closes before it opens spans midnight (22:00–06:00).
/// </summary>
public sealed record LocalSendWindow(TimeOnly Opens, TimeOnly Closes)
{
    public const string Field = "sendWindow";
    private static readonly string[] Formats = ["H:mm", "HH:mm", "H:mm:ss", "HH:mm:ss"];

    /// <summary>Reads "08:00-21:00" (seconds allowed, an en dash too); null for an empty input (any time).</summary>
    /// <exception cref="VendorValidationException">Not two times, or the same time twice.</exception>
    public static LocalSendWindow? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split(['-', '–', '~'], StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !TryTime(parts[0], out var opens) || !TryTime(parts[1], out var closes))
            throw new VendorValidationException(Field, $"expected the local opening and closing times as HH:mm-HH:mm (e.g. 08:00-21:00), got '{text.Trim()}'");
        if (opens == closes)
            throw new VendorValidationException(Field, $"the window opens and closes at the same time ({opens:HH\\:mm}); leave it empty to send at any time");
        return new LocalSendWindow(opens, closes);
    }

    private static bool TryTime(string text, out TimeOnly time) =>
        TimeOnly.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out time);

    public bool IsOpen(TimeOnly local) => Opens < Closes ? local >= Opens && local < Closes : local >= Opens || local < Closes;

    public bool IsOpenAt(DateTimeOffset instant, TimeZoneInfo zone) => IsOpen(TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(instant, zone).DateTime));

    /// <summary>
    /// The first moment from <paramref name="now"/> on when the window is open in every one of <paramref name="zones"/>
    /// (<paramref name="now"/> itself when it is open now); null when their windows never overlap.
    /// </summary>
    public DateTimeOffset? NextOpening(DateTimeOffset now, IReadOnlyCollection<TimeZoneInfo> zones)
    {
        if (zones.All(z => IsOpenAt(now, z))) return now;
        // Where open windows overlap, the overlap begins when one of them opens: those moments are the only candidates.
        return zones.SelectMany(z => OpeningsAround(now, z)).Where(t => t > now).Order().Cast<DateTimeOffset?>()
            .FirstOrDefault(t => zones.All(z => IsOpenAt(t!.Value, z)));
    }

    private IEnumerable<DateTimeOffset> OpeningsAround(DateTimeOffset now, TimeZoneInfo zone)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        for (var day = -1; day <= 2; day++) yield return AtLocal(today.AddDays(day).ToDateTime(Opens), zone);
    }

    private static DateTimeOffset AtLocal(DateTime local, TimeZoneInfo zone)
    {
        // An opening a clock change skips (02:30 on a spring-forward night) happens at the first minute that exists.
        while (zone.IsInvalidTime(local)) local = local.AddMinutes(1);
        return new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUniversalTime();
    }

    /// <summary>
    /// Splits <paramref name="recipients"/> (in their order) by the zones their window is read in: one group for all when
    /// <paramref name="zoneId"/> is given, otherwise one per set of zones a number may be in (a UK mobile: London and the
    /// Crown Dependencies; a Chinese one: Shanghai), each opening at its own moment. <paramref name="together"/> keeps one
    /// group that waits until the window is open in every recipient's zones.
    /// </summary>
    /// <exception cref="VendorValidationException">An unknown zone id (<c>timeZone</c>), or a group whose zones are never open at once (<c>sendWindow</c>).</exception>
    public IReadOnlyList<ZoneGroup> Split(IReadOnlyList<PhoneNumber> recipients, string? zoneId, DateTimeOffset now, bool together = false)
    {
        IReadOnlyList<ZoneGroup> groups = GivenZone(zoneId) is { } given ? [new ZoneGroup([given], recipients)]
            : together ? [new ZoneGroup(recipients.SelectMany(OwnZones).DistinctBy(z => z.Id).ToArray(), recipients)]
            : recipients.GroupBy(r => string.Join(",", OwnZones(r).Select(z => z.Id).Order(StringComparer.Ordinal)), StringComparer.Ordinal)
                .Select(g => new ZoneGroup(OwnZones(g.First()), g.ToArray())).ToArray();
        foreach (var group in groups)
            if (NextOpening(now, group.Zones) is null)
                throw new VendorValidationException(Field,
                    $"the window {Opens:HH\\:mm}-{Closes:HH\\:mm} is never open at once in the time zones of {(group.Recipients.Count == 1 ? PhoneNumber.Mask(group.Recipients[0].E164) : "the recipients")} ({string.Join(", ", group.Zones.Select(z => z.Id))}); give a Time zone");
        return groups;
    }

    private static TimeZoneInfo? GivenZone(string? zoneId)
    {
        if (string.IsNullOrWhiteSpace(zoneId)) return null;
        return TimeZoneInfo.TryFindSystemTimeZoneById(zoneId.Trim(), out var given)
            ? given
            : throw new VendorValidationException("timeZone", $"'{zoneId.Trim()}' is not a known IANA time zone (e.g. Asia/Shanghai, Europe/London)");
    }

    private static TimeZoneInfo[] OwnZones(PhoneNumber number) =>
        (number.TimeZoneIds() is { Count: > 0 } ids ? ids : ["UTC"])
        .Select(id => TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc)
        .DistinctBy(z => z.Id).ToArray();
}

/// <summary>Recipients whose send window is read in the same time zones, so it opens for all of them at once.</summary>
public sealed record ZoneGroup(IReadOnlyList<TimeZoneInfo> Zones, IReadOnlyList<PhoneNumber> Recipients)
{
    /// <summary>Names the group in its sends' idempotency keys: the same zones give the same key on every execution.</summary>
    public string Key => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
        System.Text.Encoding.UTF8.GetBytes(string.Join(",", Zones.Select(z => z.Id).Order(StringComparer.Ordinal)))))[..Persistence.SendRecordStore.ZoneGroupKeyLength];
}
