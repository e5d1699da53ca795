namespace SmsActivities.Vendors;

/// <summary>Times vendors send as local wall-clock text (Beijing time) without an offset.</summary>
internal static class VendorClockTime
{
    /// <summary>
    /// <paramref name="local"/> at <paramref name="offset"/>; false when that lies outside <see cref="DateTimeOffset"/>'s
    /// range (0001-01-01 00:00 in Beijing is still year 0 in UTC), where the constructor would throw.
    /// </summary>
    public static bool TryAt(DateTime local, TimeSpan offset, out DateTimeOffset time)
    {
        var utcTicks = local.Ticks - offset.Ticks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
        {
            time = default;
            return false;
        }
        time = new DateTimeOffset(local, offset);
        return true;
    }
}
