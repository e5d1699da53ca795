using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Expressions;

/// <summary>
/// Values in workflow state are JSON nodes (they must survive persistence); this converts between
/// them and CLR values leniently, as designers type numbers and booleans into text boxes.
/// </summary>
public static class ValueConverter
{
    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        JsonNode node => node.DeepClone(),
        JsonElement element => JsonNode.Parse(element.GetRawText()),
        _ => JsonSerializer.SerializeToNode(value, value.GetType(), WorkflowJson.Options),
    };

    public static T? Convert<T>(JsonNode? node) => (T?)Convert(node, typeof(T));

    public static object? Convert(JsonNode? node, Type type)
    {
        if (node is null) return type.IsValueType && Nullable.GetUnderlyingType(type) is null ? Activator.CreateInstance(type) : null;
        if (type == typeof(JsonNode)) return node.DeepClone();
        if (type == typeof(object)) return ToPlain(node);
        if (type == typeof(string))
            return node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node.ToJsonString(WorkflowJson.Options);
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (node is JsonValue value && value.TryGetValue<string>(out var text))
        {
            if (text.Length == 0) return Convert(null, type);
            if (target == typeof(bool)) return bool.Parse(text.Trim());
            if (target == typeof(TimeSpan)) return TimeSpan.Parse(text, CultureInfo.InvariantCulture);
            if (target == typeof(DateTimeOffset)) return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);
            if (target.IsEnum) return Enum.Parse(target, text, ignoreCase: true);
            if (!target.IsPrimitive && target != typeof(decimal))
            {
                // Object-typed inputs often arrive as JSON text ("[\"GET\",\"POST\"]").
                var trimmed = text.TrimStart();
                if (trimmed.StartsWith('[') || trimmed.StartsWith('{'))
                    return JsonSerializer.Deserialize(text, type, WorkflowJson.Options);
                if (IsSequenceOfString(target)) return JsonSerializer.Deserialize(new JsonArray(text), type, WorkflowJson.Options);
            }
        }
        return node.Deserialize(type, WorkflowJson.Options);
    }

    private static bool IsSequenceOfString(Type type) => typeof(IEnumerable<string>).IsAssignableFrom(type);

    /// <summary>JSON → plain CLR (dictionaries, lists, primitives), for <c>object</c>-typed inputs and C# code.</summary>
    public static object? ToPlain(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(p => p.Key, p => ToPlain(p.Value)),
        JsonArray a => a.Select(ToPlain).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => long.TryParse(v.ToJsonString(), CultureInfo.InvariantCulture, out var l) ? l : double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture),
            _ => v.ToJsonString(),
        },
        _ => null,
    };

    /// <summary>Truthiness as JavaScript sees it, for decisions fed by any expression.</summary>
    public static bool IsTruthy(JsonNode? node) => node switch
    {
        null => false,
        JsonValue v when v.GetValueKind() == JsonValueKind.False => false,
        JsonValue v when v.GetValueKind() == JsonValueKind.True => true,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => double.Parse(v.ToJsonString(), CultureInfo.InvariantCulture) != 0,
        JsonValue v when v.TryGetValue<string>(out var s) => !(s.Length == 0 || s.Equals("false", StringComparison.OrdinalIgnoreCase) || s == "0"),
        _ => true,
    };
}
