using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Otp;
using SmsActivities.Persistence;

namespace SmsActivities.Tests.Otp;

public sealed class OtpServiceTests : IAsyncLifetime
{
    private const string Mobile = "+8613800138000";
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 11, 21, 9, 0, 0, TimeSpan.Zero));
    private TestDatabase _db = null!;
    private OtpService _otp = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync();
        _otp = new OtpService(_db.Factory, Options.Create(new OtpOptions()), _time);
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task A_code_verifies_once_and_is_stored_only_as_a_hash()
    {
        var issued = (await _otp.IssueAsync(Mobile, "login", "10.0.0.1")).Issued!;
        Assert.Matches("^[0-9]{6}$", issued.Code);

        await using (var context = await _db.Factory.CreateDbContextAsync())
        {
            var row = await context.OtpChallenges.SingleAsync();
            Assert.Equal(32, row.CodeHash.Length);
            Assert.DoesNotContain(issued.Code, System.Text.Encoding.UTF8.GetString(row.CodeHash), StringComparison.Ordinal);
        }

        Assert.Equal(OtpVerifyOutcome.Valid, await _otp.VerifyAsync(Mobile, "login", issued.Code, "10.0.0.1"));
        Assert.Equal(OtpVerifyOutcome.Invalid, await _otp.VerifyAsync(Mobile, "login", issued.Code, "10.0.0.1"));
    }

    [Fact]
    public async Task A_code_of_another_purpose_or_number_does_not_verify()
    {
        var issued = (await _otp.IssueAsync(Mobile, "login", null)).Issued!;
        Assert.Equal(OtpVerifyOutcome.Invalid, await _otp.VerifyAsync(Mobile, "reset", issued.Code, null));
        Assert.Equal(OtpVerifyOutcome.Invalid, await _otp.VerifyAsync("+8613900139000", "login", issued.Code, null));
    }

    [Fact]
    public async Task Codes_expire_after_ten_minutes()
    {
        var issued = (await _otp.IssueAsync(Mobile, "login", null)).Issued!;
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(OtpVerifyOutcome.Expired, await _otp.VerifyAsync(Mobile, "login", issued.Code, null));
    }

    [Fact]
    public async Task Brute_force_is_stopped_after_five_checks_even_with_the_right_code()
    {
        var issued = (await _otp.IssueAsync(Mobile, "login", null)).Issued!;
        var wrong = issued.Code == "000000" ? "111111" : "000000";
        for (var i = 0; i < 5; i++)
            Assert.Equal(OtpVerifyOutcome.Invalid, await _otp.VerifyAsync(Mobile, "login", wrong, null));
        Assert.Equal(OtpVerifyOutcome.TooManyAttempts, await _otp.VerifyAsync(Mobile, "login", issued.Code, null));
    }

    [Fact]
    public async Task Parallel_guesses_cannot_exceed_the_check_limit()
    {
        var issued = (await _otp.IssueAsync(Mobile, "login", null)).Issued!;
        var wrong = issued.Code == "000000" ? "111111" : "000000";
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _otp.VerifyAsync(Mobile, "login", wrong, null)));
        Assert.Equal(5, outcomes.Count(o => o == OtpVerifyOutcome.Invalid));
        Assert.Equal(15, outcomes.Count(o => o == OtpVerifyOutcome.TooManyAttempts));
    }

    [Fact]
    public async Task Resend_waits_for_the_cool_down_and_a_new_code_replaces_the_old()
    {
        var first = (await _otp.IssueAsync(Mobile, "login", null)).Issued!;
        var refused = await _otp.IssueAsync(Mobile, "login", null);
        Assert.False(refused.IsIssued);
        Assert.Contains("cool-down", refused.Refused!.Rule, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(30));
        var second = (await _otp.IssueAsync(Mobile, "login", null)).Issued!;
        Assert.NotEqual(first.ChallengeId, second.ChallengeId);
        if (first.Code != second.Code)
            Assert.Equal(OtpVerifyOutcome.Invalid, await _otp.VerifyAsync(Mobile, "login", first.Code, null));
        Assert.Equal(OtpVerifyOutcome.Valid, await _otp.VerifyAsync(Mobile, "login", second.Code, null));
    }

    [Fact]
    public async Task At_most_five_sends_per_number_per_hour()
    {
        for (var i = 0; i < 5; i++)
        {
            Assert.True((await _otp.IssueAsync(Mobile, "login", null)).IsIssued);
            _time.Advance(TimeSpan.FromSeconds(31));
        }
        var refused = await _otp.IssueAsync(Mobile, "login", null);
        Assert.Contains("per number per hour", refused.Refused!.Rule, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromHours(1));
        Assert.True((await _otp.IssueAsync(Mobile, "login", null)).IsIssued);
    }

    [Fact]
    public async Task One_client_address_cannot_spray_codes_over_many_numbers()
    {
        var otp = new OtpService(_db.Factory, Options.Create(new OtpOptions { MaxSendsPerIpPerHour = 3 }), _time);
        for (var i = 0; i < 3; i++)
            Assert.True((await otp.IssueAsync($"+861380013800{i}", "login", "203.0.113.9")).IsIssued);
        var refused = await otp.IssueAsync("+8613800138009", "login", "203.0.113.9");
        Assert.Contains("client address", refused.Refused!.Rule, StringComparison.Ordinal);
        Assert.True((await otp.IssueAsync("+8613800138009", "login", "203.0.113.10")).IsIssued);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(8)]
    public void Generated_codes_have_the_requested_digits_and_vary(int digits)
    {
        var codes = Enumerable.Range(0, 200).Select(_ => OtpService.GenerateCode(digits)).ToArray();
        Assert.All(codes, c => Assert.Matches($"^[0-9]{{{digits}}}$", c));
        Assert.True(codes.Distinct().Count() > 150);
    }
}
