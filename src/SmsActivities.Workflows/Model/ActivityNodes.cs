using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmsActivities.Workflows.Model;

/// <summary>The activities of a definition's JSON: flowchart children and embedded ones (any object with a type and an id).</summary>
public static class ActivityNodes
{
    public static IEnumerable<JsonObject> Of(WorkflowDefinition definition) =>
        Walk(JsonSerializer.SerializeToNode(definition.Root, WorkflowJson.Options));

    /// <summary>Depth first, the node itself first.</summary>
    public static IEnumerable<JsonObject> Walk(JsonNode? node)
    {
        switch (node)
        {
            case JsonArray array:
                foreach (var activity in array.SelectMany(Walk)) yield return activity;
                break;
            case JsonObject o:
                if (o["type"] is JsonValue type && type.TryGetValue<string>(out _) && o["id"] is JsonValue) yield return o;
                foreach (var activity in o.Select(p => p.Value).SelectMany(Walk)) yield return activity;
                break;
        }
    }
}
