using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// Definitions as Studio's editors read them. Studio's chips editor (multitext) shows only an Object expression
/// holding a JSON list and shows anything else as empty, while a definition file or C# may hold a plain Literal
/// (<c>"tencent"</c>, <c>"(computed in C#)"</c>): such a value is shown as the list it stands for, one chip per
/// literal (a literal that is a JSON list, one chip per item). The activities read both forms alike, so a save from
/// Studio keeps the meaning. Exports keep the stored form.
/// </summary>
public sealed class StudioModels(ActivityRegistry registry)
{
    public JsonObject ToModel(WorkflowDefinition definition)
    {
        var model = DefinitionJson.ToModel(definition);
        if (model["root"] is JsonObject root) ShowLiteralsAsLists(root);
        return model;
    }

    private void ShowLiteralsAsLists(JsonObject root)
    {
        foreach (var activity in ActivityNodes.Walk(root))
        {
            if (registry.Find((string?)activity["type"] ?? "") is not { } info) continue;
            foreach (var input in info.Inputs.Where(i => i.IsWrapped && i.UIHint == InputUIHints.MultiText))
                if (activity[input.JsonName]?["expression"] is JsonObject expression) ShowAsList(expression);
        }
    }

    private static void ShowAsList(JsonObject expression)
    {
        if ((string?)expression["type"] != Expression.LiteralType || expression["value"] is not { } value) return;
        var list = value is JsonValue text && text.TryGetValue<string>(out var s)
            ? AsJsonList(s) ?? new JsonArray(JsonValue.Create(s))
            : value as JsonArray ?? new JsonArray(JsonValue.Create(value.ToJsonString()));
        expression["type"] = Expression.ObjectType;
        expression["value"] = list.ToJsonString();
    }

    private static JsonArray? AsJsonList(string text)
    {
        if (!text.TrimStart().StartsWith('[')) return null;
        try { return JsonNode.Parse(text) as JsonArray; }
        catch (JsonException) { return null; }
    }
}
