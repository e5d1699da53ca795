using System.ComponentModel.DataAnnotations;

namespace SmsActivities.Otp;

/// <summary>OTP rules, bound from <c>SmsActivities:Otp</c>. Defaults follow Twilio Verify: 10-minute codes, 5 checks, 5 sends.</summary>
public sealed class OtpOptions
{
    [Range(4, 8)]
    public int Digits { get; set; } = 6;

    [Range(typeof(TimeSpan), "00:00:30", "1.00:00:00")]
    public TimeSpan CodeLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Checks allowed against one code before it is locked.</summary>
    [Range(1, 100)]
    public int MaxChecksPerCode { get; set; } = 5;

    [Range(1, 1000)]
    public int MaxSendsPerNumberPerHour { get; set; } = 5;

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ResendCooldown { get; set; } = TimeSpan.FromSeconds(30);

    [Range(1, 100000)]
    public int MaxSendsPerIpPerHour { get; set; } = 20;

    [Range(1, 100000)]
    public int MaxChecksPerIpPerHour { get; set; } = 60;

    /// <summary>Optional server-side secret mixed into every code hash, so a leaked table alone cannot be brute-forced.</summary>
    public string? Pepper { get; set; }
}
