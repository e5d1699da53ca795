namespace SmsActivities.Workflows.Runtime;

/// <summary>Wakes the delivery dispatcher when stimuli were accepted, instead of leaving them to its next poll.</summary>
internal sealed class DispatchSignal : WakeSignal;
