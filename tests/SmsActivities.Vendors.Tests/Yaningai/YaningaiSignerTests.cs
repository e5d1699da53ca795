using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Vendors.Tests.Yaningai;

public class YaningaiSignerTests
{
    [Fact]
    public void Doc_inputs_give_the_md5_of_account_key_and_datetime()
    {
        // The doc's inputs (yn00001 / 7bz1lzh9 / 1630468800); its printed hash 05d7a508… is wrong (docs/architecture.md, "Vendor notes").
        Assert.Equal("d2e310115b3c2299d6c38424e293cd0f", YaningaiSigner.Sign("yn00001", "7bz1lzh9", 1630468800));
        Assert.NotEqual("05d7a50893e22a5c4bb3216ae3396c7c", YaningaiSigner.Sign("yn00001", "7bz1lzh9", 1630468800));
    }

    [Fact]
    public void Sign_is_lowercase_hex_and_changes_with_every_input()
    {
        var sign = YaningaiSigner.Sign("yn00001", "7bz1lzh9", 1630468801);
        Assert.Matches("^[0-9a-f]{32}$", sign);
        Assert.NotEqual(sign, YaningaiSigner.Sign("yn00002", "7bz1lzh9", 1630468801));
        Assert.NotEqual(sign, YaningaiSigner.Sign("yn00001", "7bz1lzh8", 1630468801));
    }

    [Fact]
    public void Verify_accepts_only_the_exact_sign()
    {
        Assert.True(YaningaiSigner.Verify("yn00001", "7bz1lzh9", 1630468800, "d2e310115b3c2299d6c38424e293cd0f"));
        Assert.False(YaningaiSigner.Verify("yn00001", "7bz1lzh9", 1630468800, "D2E310115B3C2299D6C38424E293CD0F"));
        Assert.False(YaningaiSigner.Verify("yn00001", "7bz1lzh9", 1630468801, "d2e310115b3c2299d6c38424e293cd0f"));
        Assert.False(YaningaiSigner.Verify("yn00001", "7bz1lzh9", 1630468800, null));
    }

    [Theory]
    [InlineData("+8613611111111", "13611111111", "8613611111111")]
    [InlineData("+6282111116504", "82111116504", "6282111116504")]
    // A national number that begins with its own country code must carry the code.
    [InlineData("+626212345678", "626212345678", "626212345678")]
    public void Numbers_go_without_country_code_unless_they_start_with_it(string e164, string vendor, string reported)
    {
        var number = PhoneNumber.Parse(e164);
        Assert.Equal(vendor, YaningaiCountryCodes.ToVendorNumber(number));
        Assert.Equal(reported, YaningaiCountryCodes.ToReportedNumber(number));
        Assert.Equal(e164, YaningaiCountryCodes.FromReportedNumber(reported));
    }

    [Fact]
    public void Masked_reported_numbers_give_no_mobile()
    {
        Assert.Null(YaningaiCountryCodes.FromReportedNumber("86136****1111"));
        Assert.Null(YaningaiCountryCodes.FromReportedNumber(null));
    }
}
