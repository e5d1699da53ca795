using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Vendors;
using SmsActivities.Vendors.Tencent;
using SmsActivities.Vendors.Yunpian;

namespace SmsActivities.Vendors.Tests.Common;

public class PhoneNumberTests
{
    [Theory]
    [InlineData("13800138000", null, 86, "13800138000", "CN")]
    [InlineData("+86 138-0013-8000", null, 86, "13800138000", "CN")]
    [InlineData("008613800138000", null, 86, "13800138000", "CN")]
    [InlineData("(138) 0013.8000", null, 86, "13800138000", "CN")]
    [InlineData("+14155552671", null, 1, "4155552671", "US")]
    [InlineData("+16135550123", null, 1, "6135550123", "CA")]
    [InlineData("+85261234567", null, 852, "61234567", "HK")]
    [InlineData("+6281234567890", null, 62, "81234567890", "ID")]
    // National formats of other regions, trunk prefix and all.
    [InlineData("07400 123456", "GB", 44, "7400123456", "GB")]
    [InlineData("(415) 555-2671", "US", 1, "4155552671", "US")]
    [InlineData("9123 4567", "HK", 852, "91234567", "HK")]
    // An international form ignores the default region.
    [InlineData("+8613800138000", "GB", 86, "13800138000", "CN")]
    public void Parses_national_and_international_forms(string input, string? region, int countryCode, string national, string numberRegion)
    {
        var number = PhoneNumber.Parse(input, region);
        Assert.Equal(countryCode, number.CountryCode);
        Assert.Equal(national, number.NationalNumber);
        Assert.Equal(numberRegion, number.Region);
        Assert.Equal($"+{countryCode}{national}", number.E164);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("1380013800", "not a valid number of region CN")]
    [InlineData("12800138000", "not a valid number of region CN")]
    [InlineData("+281234567", "country calling code")]
    [InlineData("138001380ab", "only digits")]
    [InlineData("+1234567890123456", "not a")]
    [InlineData("+44 7911 12345", "not a valid number of region GB")]
    [InlineData("+1 415 555 267", "not a valid number of region US")]
    public void Rejects_bad_numbers_naming_the_field_and_rule(string input, string rule)
    {
        var ex = Assert.Throws<VendorValidationException>(() => PhoneNumber.Parse(input, field: "recipients[0]"));
        Assert.Equal("recipients[0]", ex.Field);
        Assert.Contains(rule, ex.Rule, StringComparison.Ordinal);
        Assert.StartsWith("recipients[0]: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_national_number_is_read_in_the_region_given()
    {
        // The same digits are a valid Hong Kong number and no China mainland one.
        Assert.False(PhoneNumber.TryParse("91234567", out _, out _));
        Assert.Equal("+85291234567", PhoneNumber.Parse("91234567", "HK").E164);
    }

    [Fact]
    public void Error_messages_mask_the_number()
    {
        var ex = Assert.Throws<VendorValidationException>(() => PhoneNumber.Parse("1380013800"));
        Assert.DoesNotContain("1380013800", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_vendor_formats_the_number_its_own_way()
    {
        var hk = PhoneNumber.Parse("+852 9123 4567");
        var cn = PhoneNumber.Parse("13800138000");

        Assert.Equal(new TencentTel("852", "91234567"), TencentTel.From(hk));
        Assert.Equal(new TencentTel("86", "13800138000"), TencentTel.From(cn));
        Assert.Equal("+85291234567", YunpianFormat.ToWire(hk));
        Assert.Equal("13800138000", YunpianFormat.ToWire(cn));
        Assert.Equal("91234567", SmsActivities.Vendors.Yaningai.YaningaiCountryCodes.ToVendorNumber(hk));
    }

    [Fact]
    public void The_global_default_region_is_configurable_validated_and_CN_unless_set()
    {
        static ServiceProvider Build(params (string Key, string Value)[] settings)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
            return new ServiceCollection().AddSmsVendors(config.GetSection("Vendors")).BuildServiceProvider();
        }

        using (var unset = Build()) Assert.Equal("CN", unset.GetRequiredService<IOptions<PhoneNumberOptions>>().Value.DefaultRegion);
        using (var gb = Build(("Vendors:DefaultRegion", "GB"))) Assert.Equal("GB", gb.GetRequiredService<IOptions<PhoneNumberOptions>>().Value.DefaultRegion);
        using var bad = Build(("Vendors:DefaultRegion", "XX"));
        var ex = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<PhoneNumberOptions>>().Value);
        Assert.Contains("DefaultRegion", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null, "CN")]
    [InlineData("GB", null, "GB")]
    [InlineData("GB", "HK", "HK")]
    public void A_vendors_default_region_is_the_global_one_unless_the_vendor_sets_its_own(string? global, string? own, string expected)
    {
        // The region a vendor's reports and pushes are read in; before, an unset vendor region stayed CN whatever the deployment's.
        var emulatorUrl = new Uri("http://127.0.0.1:9/");
        var settings = VendorServices.SandboxAll(emulatorUrl);
        if (global is not null) settings["Vendors:DefaultRegion"] = global;
        foreach (var vendor in new[] { "Yunpian", "Tencent", "SendCloud", "Yaningai" })
        {
            if (own is not null) settings[$"Vendors:{vendor}:DefaultRegion"] = own;
        }
        using var sp = VendorServices.Build(settings, (services, config) => services.AddSmsVendors(config.GetSection("Vendors")));

        Assert.Equal(expected, sp.GetRequiredService<IOptions<SmsActivities.Vendors.Yunpian.YunpianOptions>>().Value.DefaultRegion);
        Assert.Equal(expected, sp.GetRequiredService<IOptions<SmsActivities.Vendors.Tencent.TencentOptions>>().Value.DefaultRegion);
        Assert.Equal(expected, sp.GetRequiredService<IOptions<SmsActivities.Vendors.SendCloud.SendCloudOptions>>().Value.DefaultRegion);
        Assert.Equal(expected, sp.GetRequiredService<IOptions<SmsActivities.Vendors.Yaningai.YaningaiOptions>>().Value.DefaultRegion);
    }
}
