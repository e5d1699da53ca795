using SmsActivities.Activities;
using SmsActivities.Vendors;

namespace SmsActivities.Tests.Plugin;

public class LocalSendWindowTests
{
    private static TimeZoneInfo Zone(string id) => TimeZoneInfo.FindSystemTimeZoneById(id);
    private static readonly LocalSendWindow Daytime = LocalSendWindow.Parse("08:00-21:00")!;

    [Fact]
    public void Inside_the_window_it_opens_now()
    {
        var now = new DateTimeOffset(2030, 1, 7, 2, 0, 0, TimeSpan.Zero); // 10:00 in Shanghai
        Assert.Equal(now, Daytime.NextOpening(now, [Zone("Asia/Shanghai")]));
    }

    [Fact]
    public void After_closing_it_opens_at_the_next_local_morning()
    {
        var now = new DateTimeOffset(2030, 1, 7, 13, 30, 0, TimeSpan.Zero); // 21:30 in Shanghai: closing is not included
        Assert.Equal(new DateTimeOffset(2030, 1, 8, 0, 0, 0, TimeSpan.Zero), Daytime.NextOpening(now, [Zone("Asia/Shanghai")]));
    }

    [Fact]
    public void A_window_across_midnight_is_open_late_and_early()
    {
        var night = LocalSendWindow.Parse("22:00–06:00")!;
        Assert.True(night.IsOpen(new TimeOnly(23, 0)));
        Assert.True(night.IsOpen(new TimeOnly(5, 59)));
        Assert.False(night.IsOpen(new TimeOnly(6, 0)));
        Assert.False(night.IsOpen(new TimeOnly(12, 0)));
    }

    [Fact]
    public void Several_zones_wait_until_the_window_is_open_in_all_of_them()
    {
        var now = new DateTimeOffset(2030, 1, 7, 1, 0, 0, TimeSpan.Zero); // 09:00 Shanghai, 01:00 London
        // London opens at 08:00 local = 08:00 UTC, while Shanghai (16:00) is still open.
        Assert.Equal(new DateTimeOffset(2030, 1, 7, 8, 0, 0, TimeSpan.Zero), Daytime.NextOpening(now, [Zone("Asia/Shanghai"), Zone("Europe/London")]));
        // 12:00-13:00 in both never overlaps (eight hours apart).
        Assert.Null(LocalSendWindow.Parse("12:00-13:00")!.NextOpening(now, [Zone("Asia/Shanghai"), Zone("Europe/London")]));
    }

    [Fact]
    public void An_opening_skipped_by_the_spring_clock_change_is_the_first_minute_that_exists()
    {
        // 2030-03-31 in London: 01:00 jumps to 02:00.
        var window = LocalSendWindow.Parse("01:30-03:00")!;
        var now = new DateTimeOffset(2030, 3, 30, 23, 0, 0, TimeSpan.Zero); // 23:00 GMT on Saturday
        Assert.Equal(new DateTimeOffset(2030, 3, 31, 1, 0, 0, TimeSpan.Zero), window.NextOpening(now, [Zone("Europe/London")])); // 02:00 BST
    }

    [Fact]
    public void The_zone_comes_from_the_number_unless_given()
    {
        var shanghai = PhoneNumber.Parse("+8613800138000");
        var london = PhoneNumber.Parse("+447911123456");
        // A UK mobile may be in London or the Crown Dependencies (same clock): each is honoured.
        var zones = LocalSendWindow.ZonesOf([shanghai, london], null).Select(z => z.Id).ToList();
        Assert.True(zones.Contains("Asia/Shanghai") && zones.Contains("Europe/London") && zones.All(z => z.StartsWith("Asia/Shanghai") || z.StartsWith("Europe/")),
            "zones: " + string.Join(", ", zones));
        Assert.Equal(["America/New_York"], LocalSendWindow.ZonesOf([shanghai], "America/New_York").Select(z => z.Id));
    }

    [Theory]
    [InlineData("morning", "sendWindow: expected the local opening and closing times as HH:mm-HH:mm (e.g. 08:00-21:00), got 'morning'")]
    [InlineData("08:00-25:00", "sendWindow: expected the local opening and closing times as HH:mm-HH:mm (e.g. 08:00-21:00), got '08:00-25:00'")]
    [InlineData("08:00-08:00", "sendWindow: the window opens and closes at the same time (08:00); leave it empty to send at any time")]
    public void A_bad_window_names_the_field_and_the_rule(string text, string message)
    {
        var error = Assert.Throws<VendorValidationException>(() => LocalSendWindow.Parse(text));
        Assert.Equal(message, error.Message.Split(" (Parameter")[0]);
    }

    [Fact]
    public void An_unknown_zone_names_the_field()
    {
        var error = Assert.Throws<VendorValidationException>(() => LocalSendWindow.ZonesOf([], "Mars/Olympus"));
        Assert.Equal("timeZone", error.Field);
        Assert.Null(LocalSendWindow.Parse("  "));
    }
}
