using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Execution;

/// <summary>
/// Blanks the secrets a run marked (<see cref="ActivityExecutionContext.MarkSecret"/>) out of what the runtime stores
/// at commit. Only the parts that hold workflow data are touched (inputs, outputs, variables, payloads, messages),
/// never the runtime's own ids, counters and times, so a stored instance always reads back.
/// Within those parts a JSON string equal to a secret becomes <see cref="Mask"/>, and a secret of at least
/// <see cref="MinContainedLength"/> characters is also replaced where it stands as a word of a longer text ("your code
/// is 482913.") or as a JSON number ({"code": 482913}). Shorter secrets are matched whole only: a 4-digit code would otherwise blank every date or amount
/// holding those digits; and a match inside a longer run of letters or digits is not a match, for the same reason.
/// </summary>
internal static class SecretRedactor
{
    public const string Mask = "******";
    public const int MinContainedLength = 6;

    private static readonly string[] StateDataProperties = ["input", "output", "variables", "activityOutputs", "incidents", "fault"];
    private static readonly string[] JournalDataProperties = ["message", "payload", "activityState"];
    private static readonly string[] ExecutionRecordDataProperties = ["activityState", "payload", "outputs", "exception", "properties"];

    /// <summary>A serialized <see cref="WorkflowState"/>: its data, bookmark payloads and activity properties.</summary>
    public static string RedactState(string json, IReadOnlyCollection<string> secrets) =>
        RedactObject(json, secrets, StateDataProperties, state =>
        {
            foreach (var bookmark in (state["bookmarks"] as JsonArray ?? []).OfType<JsonObject>()) RedactProperty(bookmark, "payload", secrets);
            foreach (var context in (state["activityExecutionContexts"] as JsonArray ?? []).OfType<JsonObject>()) RedactProperty(context, "properties", secrets);
        });

    /// <summary>A serialized journal line (<see cref="WorkflowExecutionLogRecord"/>).</summary>
    public static string RedactJournal(string json, IReadOnlyCollection<string> secrets) => RedactObject(json, secrets, JournalDataProperties);

    /// <summary>A serialized <see cref="ActivityExecutionRecord"/>.</summary>
    public static string RedactExecutionRecord(string json, IReadOnlyCollection<string> secrets) => RedactObject(json, secrets, ExecutionRecordDataProperties);

    /// <summary>A JSON text that is data through and through (a bookmark or stimulus payload, a stimulus input).</summary>
    public static string? RedactData(string? json, IReadOnlyCollection<string> secrets)
    {
        if (json is null || !MayHold(json, secrets)) return json;
        return Redact(JsonNode.Parse(json), secrets)?.ToJsonString(WorkflowJson.Options) ?? "null";
    }

    private static string RedactObject(string json, IReadOnlyCollection<string> secrets, string[] properties, Action<JsonObject>? more = null)
    {
        if (!MayHold(json, secrets)) return json;
        var obj = JsonNode.Parse(json)!.AsObject();
        foreach (var property in properties) RedactProperty(obj, property, secrets);
        more?.Invoke(obj);
        return obj.ToJsonString(WorkflowJson.Options);
    }

    /// <summary>Cheap test first: most runs mark nothing, and most stored texts hold no secret.</summary>
    private static bool MayHold(string json, IReadOnlyCollection<string> secrets) =>
        secrets.Count > 0 && secrets.Any(s => json.Contains(s, StringComparison.Ordinal));

    private static void RedactProperty(JsonObject obj, string property, IReadOnlyCollection<string> secrets)
    {
        if (obj[property] is { } node) obj[property] = Redact(node.DeepClone(), secrets);
    }

    /// <summary>Redacts a detached node in place (the returned node replaces a value that was itself a secret).</summary>
    private static JsonNode? Redact(JsonNode? node, IReadOnlyCollection<string> secrets)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, child) in obj.ToList())
                    if (child is JsonValue value) { if (RedactValue(value, secrets) is { } masked) obj[key] = masked; }
                    else Redact(child, secrets);
                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                    if (array[i] is JsonValue value) { if (RedactValue(value, secrets) is { } masked) array[i] = masked; }
                    else Redact(array[i], secrets);
                return array;
            case JsonValue value:
                return RedactValue(value, secrets) is { } whole ? JsonValue.Create(whole) : value;
            default:
                return node;
        }
    }

    /// <summary>The redacted text of a string or number value, or null when it holds no secret.</summary>
    private static string? RedactValue(JsonValue value, IReadOnlyCollection<string> secrets)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.Number:
                // Only long secrets: a number equal to a 4-digit code is more likely a count the workflow reads back as a
                // number, which a masked text would break.
                var number = value.ToJsonString();
                return number.Length >= MinContainedLength && secrets.Contains(number, StringComparer.Ordinal) ? Mask : null;
            case JsonValueKind.String:
                var text = value.GetValue<string>();
                var redacted = RedactText(text, secrets);
                return redacted == text ? null : redacted;
            default:
                return null;
        }
    }

    internal static string RedactText(string text, IReadOnlyCollection<string> secrets)
    {
        foreach (var secret in secrets)
        {
            if (text == secret) return Mask;
            if (secret.Length >= MinContainedLength) text = ReplaceWords(text, secret);
        }
        return text;
    }

    /// <summary>Replaces the occurrences of <paramref name="secret"/> not glued to a letter or digit on either side.</summary>
    private static string ReplaceWords(string text, string secret)
    {
        var at = text.IndexOf(secret, StringComparison.Ordinal);
        if (at < 0) return text;
        var result = new StringBuilder(text.Length);
        var from = 0;
        while (at >= 0)
        {
            var end = at + secret.Length;
            var glued = (at > 0 && char.IsLetterOrDigit(text[at - 1]) && char.IsLetterOrDigit(secret[0]))
                        || (end < text.Length && char.IsLetterOrDigit(text[end]) && char.IsLetterOrDigit(secret[^1]));
            result.Append(text, from, at - from).Append(glued ? secret : Mask);
            from = end;
            at = text.IndexOf(secret, from, StringComparison.Ordinal);
        }
        return result.Append(text, from, text.Length - from).ToString();
    }
}
