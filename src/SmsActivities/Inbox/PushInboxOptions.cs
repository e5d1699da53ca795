using System.ComponentModel.DataAnnotations;

namespace SmsActivities.Inbox;

/// <summary>The push inbox processor, bound from <c>SmsActivities:Inbox</c>.</summary>
public sealed class PushInboxOptions
{
    public const string Section = "SmsActivities:Inbox";

    /// <summary>Most pushes the processor takes at once (one claim, ended in one transaction).</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 50;

    /// <summary>
    /// Most events the processor runs as one (their reports written and accepted in one group commit); the pushes of a
    /// claim are run in order, in as many runs as this takes. A push with more events is a run of its own.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxEventsPerRun { get; set; } = 500;

    /// <summary>
    /// How long the processor, woken by a new push, waits for more to join its batch: a little latency for fewer, larger
    /// commits under load. Zero takes the batch at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// How often the processor looks for pushes without being woken: those acknowledged by another node, those left by a
    /// crash and those due again after a failure.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>First wait before a push whose processing failed is tried again; it doubles with each failure.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between two attempts of a failing push.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Failed attempts after which a push is set aside (dead-lettered): kept with its error but never due again, logged
    /// and counted (<c>sms.inbox.dead_lettered</c>), so a push that can never be processed stops costing a retry forever.
    /// The default, with the default delays, keeps trying for about three hours.
    /// </summary>
    [Range(1, 1_000)]
    public int MaxAttempts { get; set; } = 25;
}
