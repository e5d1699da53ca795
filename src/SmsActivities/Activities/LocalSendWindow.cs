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
    /// The zones to honour: <paramref name="zoneId"/> for every recipient when given, otherwise each number's own (from its
    /// country and area code), UTC for a number whose zone cannot be told.
    /// </summary>
    /// <exception cref="VendorValidationException">An unknown zone id, named under <c>timeZone</c>.</exception>
    public static IReadOnlyList<TimeZoneInfo> ZonesOf(IEnumerable<PhoneNumber> recipients, string? zoneId)
    {
        if (!string.IsNullOrWhiteSpace(zoneId))
        {
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(zoneId.Trim(), out var given))
                throw new VendorValidationException("timeZone", $"'{zoneId.Trim()}' is not a known IANA time zone (e.g. Asia/Shanghai, Europe/London)");
            return [given];
        }
        return recipients.SelectMany(r => r.TimeZoneIds() is { Count: > 0 } ids ? ids : ["UTC"]).Distinct(StringComparer.Ordinal)
            .Select(id => TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc)
            .DistinctBy(z => z.Id).ToArray();
    }
}
