using System.Text.Json.Nodes;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Elsa's polymorphic alterations as JSON (<c>{"type":"Cancel"}</c>, <c>{"type":"ModifyVariable","variableId","value"}</c>,
/// <c>{"type":"ScheduleActivity","activityId"|"activityInstanceId"}</c>): the form plans are submitted and stored in.
/// </summary>
public static class AlterationJson
{
    /// <summary>Reads a non-empty list; anything else (an unknown type, a missing field) is refused, naming it.</summary>
    public static bool TryRead(JsonNode? node, out List<WorkflowAlteration> alterations, out string error)
    {
        alterations = [];
        error = "";
        if (node is not JsonArray { Count: > 0 } array)
        {
            error = "alterations must be a non-empty list, e.g. [{\"type\":\"Cancel\"}].";
            return false;
        }
        for (var i = 0; i < array.Count; i++)
        {
            var item = array[i] as JsonObject;
            var type = (string?)item?["type"];
            WorkflowAlteration? alteration = type switch
            {
                "Cancel" => new CancelAlteration(),
                "ModifyVariable" when (string?)item!["variableId"] is { Length: > 0 } variableId => new ModifyVariableAlteration(variableId, item["value"]?.DeepClone()),
                "ScheduleActivity" when (string?)item!["activityId"] is { Length: > 0 } || (string?)item!["activityInstanceId"] is { Length: > 0 } =>
                    new ScheduleActivityAlteration((string?)item["activityId"], (string?)item["activityInstanceId"]),
                _ => null,
            };
            if (alteration is null)
            {
                error = type switch
                {
                    "ModifyVariable" => $"alterations[{i}]: ModifyVariable needs variableId (a variable's id or name) and value.",
                    "ScheduleActivity" => $"alterations[{i}]: ScheduleActivity needs activityId or activityInstanceId.",
                    null => $"alterations[{i}]: type is required (Cancel, ModifyVariable or ScheduleActivity).",
                    _ => $"alterations[{i}]: type '{type}' is not supported here; supported: Cancel, ModifyVariable, ScheduleActivity.",
                };
                return false;
            }
            alterations.Add(alteration);
        }
        return true;
    }
}
