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
    public void Recipients_are_split_by_their_own_zones_unless_one_is_given()
    {
        var now = new DateTimeOffset(2030, 1, 7, 14, 0, 0, TimeSpan.Zero);
        var shanghai = PhoneNumber.Parse("+8613800138000");
        var london = PhoneNumber.Parse("+447911123456");
        var beijing = PhoneNumber.Parse("+8613900139000");
        var groups = Daytime.Split([shanghai, london, beijing], null, now);
        Assert.Equal(2, groups.Count);
        Assert.Equal([shanghai, beijing], groups[0].Recipients);
        Assert.Equal(["Asia/Shanghai"], groups[0].Zones.Select(z => z.Id));
        // A UK mobile may be in London or the Crown Dependencies (same clock): its group honours each.
        Assert.True(groups[1].Zones.Any(z => z.Id == "Europe/London") && groups[1].Zones.All(z => z.Id.StartsWith("Europe/", StringComparison.Ordinal)),
            "zones: " + string.Join(", ", groups[1].Zones.Select(z => z.Id)));
        // Each group's key is stable across executions and tells the groups apart.
        Assert.Equal(groups[0].Key, Daytime.Split([beijing], null, now)[0].Key);
        Assert.NotEqual(groups[0].Key, groups[1].Key);

        var given = Assert.Single(Daytime.Split([shanghai, london], "America/New_York", now));
        Assert.Equal(["America/New_York"], given.Zones.Select(z => z.Id));
        var together = Assert.Single(Daytime.Split([shanghai, london], null, now, together: true));
        Assert.Equal(2, together.Recipients.Count);
    }

    [Fact]
    public void A_group_whose_zones_never_share_the_window_is_refused_naming_the_field()
    {
        var now = new DateTimeOffset(2030, 1, 7, 1, 0, 0, TimeSpan.Zero);
        var error = Assert.Throws<VendorValidationException>(() => LocalSendWindow.Parse("12:00-13:00")!
            .Split([PhoneNumber.Parse("+8613800138000"), PhoneNumber.Parse("+447911123456")], null, now, together: true));
        Assert.Equal("sendWindow", error.Field);
        // Split by zone, the same window is fine: each group opens at its own noon.
        Assert.Equal(2, LocalSendWindow.Parse("12:00-13:00")!.Split([PhoneNumber.Parse("+8613800138000"), PhoneNumber.Parse("+447911123456")], null, now).Count);
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
        var error = Assert.Throws<VendorValidationException>(() => Daytime.Split([], "Mars/Olympus", DateTimeOffset.UnixEpoch));
        Assert.Equal("timeZone", error.Field);
        Assert.Null(LocalSendWindow.Parse("  "));
    }
}
