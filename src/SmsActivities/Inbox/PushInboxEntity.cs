namespace SmsActivities.Inbox;

/// <summary>
/// One acknowledged push (or pull) waiting for the processor: the events the vendor reader parsed, as JSON. Only the
/// parsed events are kept (never the body, its headers, signature or the webhook token), so nothing secret is at rest.
/// </summary>
public sealed class PushInboxEntity
{
    public long Id { get; set; }

    /// <summary>The <see cref="PushEvents"/> as JSON.</summary>
    public required string Events { get; set; }

    public long ReceivedAtTicks { get; set; }

    /// <summary>When the processor may take the push: on arrival, later after a failed attempt (backoff).</summary>
    public long DueAtTicks { get; set; }

    /// <summary>Failed processing attempts so far.</summary>
    public int Attempts { get; set; }

    /// <summary>Why the last attempt failed (exception type and message), for an operator to see.</summary>
    public string? Error { get; set; }
}
