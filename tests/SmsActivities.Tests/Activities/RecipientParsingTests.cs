using SmsActivities.Activities;
using SmsActivities.Vendors;

namespace SmsActivities.Tests.Activities;

/// <summary>A campaign's recipients are parsed on every core: the result keeps their order, and a bad number is reported as one would be alone.</summary>
public sealed class RecipientParsingTests
{
    private static string Mobile(int i) => $"+86139{i:D8}";

    [Fact]
    public void A_long_list_is_parsed_in_its_order()
    {
        var entries = ActivityInputs.ParseRecipientEntries(string.Join(',', Enumerable.Range(0, 5_000).Select(Mobile)), "CN");
        Assert.Equal(Enumerable.Range(0, 5_000).Select(Mobile), entries.Select(e => e.Number.E164));
    }

    [Fact]
    public void The_first_bad_number_of_a_long_list_is_the_one_named()
    {
        var numbers = Enumerable.Range(0, 5_000).Select(Mobile).ToArray();
        numbers[1_234] = "12ab";
        numbers[4_321] = "+99912345";
        var error = Assert.Throws<VendorValidationException>(() => ActivityInputs.ParseRecipientEntries(string.Join(',', numbers), "CN"));
        Assert.Equal("recipients[0]", error.Field);
        // The letters of the first, not the unknown calling code of the later one.
        Assert.Contains("only digits", error.Rule, StringComparison.Ordinal);
        Assert.DoesNotContain("country calling code", error.Rule, StringComparison.Ordinal);
    }
}
