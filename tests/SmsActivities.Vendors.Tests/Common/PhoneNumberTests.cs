using SmsActivities.Vendors;

namespace SmsActivities.Vendors.Tests.Common;

public class PhoneNumberTests
{
    [Theory]
    [InlineData("13800138000", 86, "13800138000")]
    [InlineData("+86 138-0013-8000", 86, "13800138000")]
    [InlineData("008613800138000", 86, "13800138000")]
    [InlineData("+14155552671", 1, "4155552671")]
    [InlineData("+85261234567", 852, "61234567")]
    [InlineData("+6281234567890", 62, "81234567890")]
    public void Parses_national_and_international_forms(string input, int countryCode, string national)
    {
        var number = PhoneNumber.Parse(input);
        Assert.Equal(countryCode, number.CountryCode);
        Assert.Equal(national, number.NationalNumber);
        Assert.Equal($"+{countryCode}{national}", number.E164);
    }

    [Theory]
    [InlineData("", "must not be empty")]
    [InlineData("1380013800", "China mainland")]
    [InlineData("12800138000", "China mainland")]
    [InlineData("+281234567", "country calling code")]
    [InlineData("138001380ab", "only digits")]
    [InlineData("+1234567890123456", "E.164")]
    public void Rejects_bad_numbers_naming_the_field_and_rule(string input, string rule)
    {
        var ex = Assert.Throws<VendorValidationException>(() => PhoneNumber.Parse(input, field: "recipients[0]"));
        Assert.Equal("recipients[0]", ex.Field);
        Assert.Contains(rule, ex.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_messages_mask_the_number()
    {
        var ex = Assert.Throws<VendorValidationException>(() => PhoneNumber.Parse("1380013800"));
        Assert.DoesNotContain("1380013800", ex.Message, StringComparison.Ordinal);
    }
}
