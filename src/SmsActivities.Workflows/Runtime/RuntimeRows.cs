using System.Text.Json;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Small conversions between the runtime's rows and its model, shared by the runtime services.</summary>
internal static class RuntimeRows
{
    public static string NewId() => Guid.CreateVersion7().ToString("N");

    public static WorkflowState ReadState(InstanceRow row) =>
        JsonSerializer.Deserialize<WorkflowState>(row.StateJson, WorkflowJson.Options) ?? throw new InvalidDataException($"Instance {row.Id} has no state.");

    /// <summary>A delivery first becomes due for the retry loop once the inline path has had its chance to run it.</summary>
    public static DeliveryRow NewDelivery(string stimulusId, DeliveryKind kind, DateTimeOffset now, TimeSpan retryAfter, string? bookmarkId = null,
        string? instanceId = null, string? definitionVersionId = null, string? triggerActivityId = null) => new()
    {
        Id = NewId(), StimulusId = stimulusId, Kind = kind, BookmarkId = bookmarkId, InstanceId = instanceId,
        DefinitionVersionId = definitionVersionId, TriggerActivityId = triggerActivityId,
        CreatedAt = DbTime.ToDb(now), NextAttemptAt = DbTime.ToDb(now + retryAfter),
    };
}
