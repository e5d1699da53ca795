namespace SmsActivities.Workflows.Runtime;

/// <summary>Raised after a commit that stored a timer, so the timer loop can wake before its next poll.</summary>
internal sealed class TimerSignal
{
    public event Action<DateTimeOffset>? Scheduled;

    public void Raise(DateTimeOffset dueAt) => Scheduled?.Invoke(dueAt);
}
