namespace SmsActivities.Otp;

/// <summary>A refusal's "ask again at" as the whole seconds of an HTTP Retry-After (at least 1).</summary>
public static class OtpRetry
{
    public static int Seconds(DateTimeOffset retryAfter, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return (int)Math.Clamp(Math.Ceiling((retryAfter - time.GetUtcNow()).TotalSeconds), 1, int.MaxValue);
    }
}
