using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Persistence;

namespace SmsActivities.Otp;

/// <summary>
/// <see cref="TooManyAttempts"/>: this code took its checks and is locked for good. <see cref="RateLimited"/>: the client
/// address used up its checks for the hour; nothing was checked, the code stays good, ask again later.
/// </summary>
public enum OtpVerifyOutcome { Valid, Invalid, Expired, TooManyAttempts, RateLimited }

/// <summary>A code ready to be sent. <see cref="Code"/> exists only in memory: it is never stored or logged.</summary>
public sealed record OtpIssued(string ChallengeId, string Code, DateTimeOffset ExpiresAt);

/// <summary>Why a code was not issued, and when asking again can succeed.</summary>
public sealed record OtpRefusal(string Rule, DateTimeOffset RetryAfter);

public sealed record OtpIssueResult(OtpIssued? Issued, OtpRefusal? Refused)
{
    public bool IsIssued => Issued is not null;
}

/// <summary>
/// Issues and verifies one-time codes: cryptographic RNG, salted (and optionally peppered) HMAC hashes,
/// expiry, a check limit per code, a resend cool-down and per-number / per-IP rate limits, constant-time
/// comparison. All counters live in the database so several server nodes enforce the same limits.
/// </summary>
public sealed class OtpService(IDbContextFactory<SmsActivitiesDbContext> dbFactory, IOptions<OtpOptions> options, TimeProvider time)
{
    private readonly OtpOptions _options = options.Value;

    public static string GenerateCode(int digits)
    {
        if (digits is < 4 or > 8) throw new ArgumentOutOfRangeException(nameof(digits), digits, "OTP codes have 4 to 8 digits");
        var max = (int)Math.Pow(10, digits);
        return RandomNumberGenerator.GetInt32(max).ToString($"D{digits}", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <param name="mobile">E.164.</param>
    /// <param name="purpose">Separates codes of different flows for the same number (e.g. "login", "reset").</param>
    /// <param name="code">A code supplied by the caller, or null to generate one.</param>
    public async Task<OtpIssueResult> IssueAsync(string mobile, string purpose, string? clientIp, string? code = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(mobile);
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        var now = time.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);

        var hourAgo = (now - TimeSpan.FromHours(1)).UtcTicks;
        var sendsKey = "otp-send:number:" + mobile;
        var recent = await db.RateEvents.Where(e => e.Key == sendsKey && e.AtTicks > hourAgo)
            .OrderByDescending(e => e.AtTicks).Select(e => e.AtTicks).ToListAsync(cancellationToken).ConfigureAwait(false);
        if (recent.Count > 0 && new DateTimeOffset(recent[0], TimeSpan.Zero) + _options.ResendCooldown > now)
            return Refuse($"resend cool-down: wait {_options.ResendCooldown.TotalSeconds:0} s between codes", new DateTimeOffset(recent[0], TimeSpan.Zero) + _options.ResendCooldown);
        if (recent.Count >= _options.MaxSendsPerNumberPerHour)
            return Refuse($"at most {_options.MaxSendsPerNumberPerHour} codes per number per hour", new DateTimeOffset(recent[^1], TimeSpan.Zero).AddHours(1));

        if (!string.IsNullOrEmpty(clientIp))
        {
            var ipKey = "otp-send:ip:" + clientIp;
            var ipSends = await db.RateEvents.Where(e => e.Key == ipKey && e.AtTicks > hourAgo).CountAsync(cancellationToken).ConfigureAwait(false);
            if (ipSends >= _options.MaxSendsPerIpPerHour)
                return Refuse($"at most {_options.MaxSendsPerIpPerHour} codes per client address per hour", await WindowEndsAsync(db, ipKey, now, cancellationToken).ConfigureAwait(false));
            db.RateEvents.Add(new RateEventEntity { Key = ipKey, AtTicks = now.UtcTicks });
        }

        code ??= GenerateCode(_options.Digits);
        var salt = RandomNumberGenerator.GetBytes(16);
        var challenge = new OtpChallengeEntity
        {
            Id = Guid.NewGuid().ToString("N"),
            Mobile = mobile,
            Purpose = purpose,
            Salt = salt,
            CodeHash = Hash(salt, mobile, purpose, code),
            CreatedAtTicks = now.UtcTicks,
            ExpiresAtTicks = (now + _options.CodeLifetime).UtcTicks,
        };

        // A new code replaces any earlier one for the same number and purpose.
        await db.OtpChallenges.Where(c => c.Mobile == mobile && c.Purpose == purpose && !c.Consumed)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Consumed, true), cancellationToken).ConfigureAwait(false);
        db.OtpChallenges.Add(challenge);
        db.RateEvents.Add(new RateEventEntity { Key = sendsKey, AtTicks = now.UtcTicks });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return new OtpIssueResult(new OtpIssued(challenge.Id, code, new DateTimeOffset(challenge.ExpiresAtTicks, TimeSpan.Zero)), null);
    }

    /// <summary>Undoes the send count of a code that could not be delivered to any vendor, so a failed send does not use up the number's quota.</summary>
    public async Task WithdrawAsync(string challengeId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await db.OtpChallenges.Where(c => c.Id == challengeId)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Consumed, true), cancellationToken).ConfigureAwait(false);
    }

    public async Task<OtpVerifyOutcome> VerifyAsync(string mobile, string purpose, string? code, string? clientIp, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(mobile);
        ArgumentException.ThrowIfNullOrEmpty(purpose);
        var now = time.GetUtcNow();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);

        if (!string.IsNullOrEmpty(clientIp))
        {
            var ipKey = "otp-check:ip:" + clientIp;
            var hourAgo = (now - TimeSpan.FromHours(1)).UtcTicks;
            var checks = await db.RateEvents.Where(e => e.Key == ipKey && e.AtTicks > hourAgo).CountAsync(cancellationToken).ConfigureAwait(false);
            if (checks >= _options.MaxChecksPerIpPerHour) return OtpVerifyOutcome.RateLimited;
            db.RateEvents.Add(new RateEventEntity { Key = ipKey, AtTicks = now.UtcTicks });
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }

        var challenge = await db.OtpChallenges.AsNoTracking()
            .Where(c => c.Mobile == mobile && c.Purpose == purpose && !c.Consumed)
            .OrderByDescending(c => c.CreatedAtTicks)
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (challenge is null) return OtpVerifyOutcome.Invalid;
        if (challenge.ExpiresAtTicks <= now.UtcTicks) return OtpVerifyOutcome.Expired;

        // Count the check atomically before comparing, so parallel guesses cannot exceed the limit.
        var max = _options.MaxChecksPerCode;
        var counted = await db.OtpChallenges
            .Where(c => c.Id == challenge.Id && !c.Consumed && c.Attempts < max)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Attempts, c => c.Attempts + 1), cancellationToken).ConfigureAwait(false);
        if (counted == 0) return OtpVerifyOutcome.TooManyAttempts;

        var candidate = Hash(challenge.Salt, mobile, purpose, code ?? string.Empty);
        if (!CryptographicOperations.FixedTimeEquals(candidate, challenge.CodeHash)) return OtpVerifyOutcome.Invalid;

        var consumed = await db.OtpChallenges.Where(c => c.Id == challenge.Id && !c.Consumed)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Consumed, true), cancellationToken).ConfigureAwait(false);
        // A code is good once: a second, concurrent check of the same right code loses.
        return consumed == 1 ? OtpVerifyOutcome.Valid : OtpVerifyOutcome.Invalid;
    }

    /// <summary>When a client address refused by the hourly check limit can check again.</summary>
    public async Task<DateTimeOffset> ChecksAllowedAgainAtAsync(string clientIp, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(clientIp);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await WindowEndsAsync(db, "otp-check:ip:" + clientIp, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The hourly window frees a place when its oldest event turns an hour old.</summary>
    private static async Task<DateTimeOffset> WindowEndsAsync(SmsActivitiesDbContext db, string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var hourAgo = (now - TimeSpan.FromHours(1)).UtcTicks;
        var oldest = await db.RateEvents.Where(e => e.Key == key && e.AtTicks > hourAgo).OrderBy(e => e.AtTicks).Select(e => (long?)e.AtTicks)
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return oldest is { } ticks ? new DateTimeOffset(ticks, TimeSpan.Zero).AddHours(1) : now;
    }

    private byte[] Hash(byte[] salt, string mobile, string purpose, string code)
    {
        var key = _options.Pepper is null ? salt : [.. salt, .. Encoding.UTF8.GetBytes(_options.Pepper)];
        return HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{purpose}\n{mobile}\n{code}"));
    }

    private static OtpIssueResult Refuse(string rule, DateTimeOffset retryAfter) => new(null, new OtpRefusal(rule, retryAfter));
}
