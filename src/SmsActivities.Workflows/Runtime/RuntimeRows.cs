using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Small conversions between the runtime's rows and its model, shared by the runtime services.</summary>
internal static class RuntimeRows
{
    public static string NewId() => Guid.CreateVersion7().ToString("N");

    public static WorkflowState ReadState(InstanceRow row) => ReadState(row.Id, row.StateJson, row.InputJson);

    /// <summary>The state with the workflow's input put back (rows from before the input column carry it in the state).</summary>
    public static WorkflowState ReadState(string instanceId, string stateJson, string? inputJson)
    {
        var state = JsonSerializer.Deserialize<WorkflowState>(stateJson, WorkflowJson.Options) ?? throw new InvalidDataException($"Instance {instanceId} has no state.");
        if (inputJson is not null) state.Input = JsonSerializer.Deserialize<Dictionary<string, JsonNode?>>(inputJson, WorkflowJson.Options) ?? [];
        return state;
    }

    /// <summary>The state as stored: everything but the workflow's input, which has a column of its own.</summary>
    public static string StateWithoutInput(WorkflowState state)
    {
        var input = state.Input;
        state.Input = [];
        try
        {
            return JsonSerializer.Serialize(state, WorkflowJson.Options);
        }
        finally
        {
            state.Input = input;
        }
    }

    public static string InputOf(WorkflowState state) => JsonSerializer.Serialize(state.Input, WorkflowJson.Options);

    /// <summary>A delivery first becomes due for the retry loop once the inline path has had its chance to run it.</summary>
    public static DeliveryRow NewDelivery(string stimulusId, DeliveryKind kind, DateTimeOffset now, TimeSpan retryAfter, string? bookmarkId = null,
        string? instanceId = null, string? definitionVersionId = null, string? triggerActivityId = null) => new()
    {
        Id = NewId(), StimulusId = stimulusId, Kind = kind, BookmarkId = bookmarkId, InstanceId = instanceId,
        DefinitionVersionId = definitionVersionId, TriggerActivityId = triggerActivityId,
        CreatedAt = DbTime.ToDb(now), NextAttemptAt = DbTime.ToDb(now + retryAfter),
    };
}
