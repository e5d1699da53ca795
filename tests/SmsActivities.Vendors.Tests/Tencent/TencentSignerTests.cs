using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Vendors.Tests.Tencent;

/// <summary>The sig examples printed in the v5 doc, as test vectors.</summary>
public class TencentSignerTests
{
    private const string DocAppKey = "5f03a35d00ee52a21327ab048186a2c4";
    private const string DocRandom = "7226249334";
    private const long DocTime = 1457336869;

    [Fact]
    public void Sendsms_example_covers_the_mobile() =>
        Assert.Equal("ecab4881ee80ad3d76bb1da68387428ca752eb885e52621a3129dcf4d9bc4fd4",
            TencentSigner.Sign(DocAppKey, DocRandom, DocTime, ["13788888888"]));

    [Fact]
    public void Sendmultisms2_example_joins_the_mobiles_with_commas() =>
        Assert.Equal("be66bb4aeb54701ed0637d0996a0b75111d5b8eda9b3a71bdc579a3d26f3edfb",
            TencentSigner.Sign(DocAppKey, DocRandom, DocTime, ["13788888888", "13788888889"]));

    [Fact]
    public void Sendisms_example_covers_the_tel_in_its_plus_form() =>
        Assert.Equal("f272b136949f9e6faa5fae01cfc240caf5e6d89f2e18e8d47adf3d87ea0715fb",
            TencentSigner.SignInternational(DocAppKey, DocRandom, DocTime, "+8613788888888"));

    [Fact]
    public void Other_calls_sign_without_a_mobile() =>
        Assert.Equal("c13e54f047ed75e821e698730c72d030dc30e5b510b3f8a0fb6fb7605283d7df",
            TencentSigner.Sign(DocAppKey, DocRandom, DocTime));

    [Fact]
    public void Verify_accepts_the_sig_in_any_case_and_rejects_others()
    {
        var sig = TencentSigner.Sign(DocAppKey, DocRandom, DocTime);
        Assert.True(TencentSigner.Verify(sig, sig.ToUpperInvariant()));
        Assert.False(TencentSigner.Verify(sig, TencentSigner.Sign(DocAppKey, "1", DocTime)));
        Assert.False(TencentSigner.Verify(sig, null));
    }
}
