using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Inbox;

/// <summary>Wakes this node's inbox processor when a push was stored, instead of leaving it to the next poll.</summary>
internal sealed class PushInboxSignal : WakeSignal;
