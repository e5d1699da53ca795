using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace SmsActivities.Workflows.Model;

/// <summary>
/// The JSON conventions of the Elsa 3 server (docs/architecture.md, "The Elsa server API Studio uses"): camelCase, enums as strings,
/// nulls omitted on write and accepted on read.
/// </summary>
public static class WorkflowJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            NumberHandling = JsonNumberHandling.AllowReadingFromString,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        options.Converters.Add(new ActivityNodeConverter());
        options.Converters.Add(new ConnectionConverter());
        options.Converters.Add(new ExpressionConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static string Serialize(WorkflowDefinition definition) => JsonSerializer.Serialize(definition, Options);

    public static WorkflowDefinition Deserialize(string json) =>
        JsonSerializer.Deserialize<WorkflowDefinition>(json, Options) ?? throw new JsonException("The workflow definition JSON is null.");

    /// <summary>Canonical text of a JSON value: object keys sorted, no whitespace. Used for stable hashes.</summary>
    public static string Canonicalize(JsonNode? node)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
            WriteCanonical(writer, node);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Writes the canonical text of <paramref name="node"/> (see <see cref="Canonicalize"/>) as UTF-8.</summary>
    internal static void WriteCanonical(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null: writer.WriteNullValue(); break;
            case JsonObject obj:
                writer.WriteStartObject();
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(key);
                    WriteCanonical(writer, value);
                }
                writer.WriteEndObject();
                break;
            case JsonArray array:
                writer.WriteStartArray();
                foreach (var item in array) WriteCanonical(writer, item);
                writer.WriteEndArray();
                break;
            default: node.WriteTo(writer); break;
        }
    }
}

internal sealed class ActivityNodeConverter : JsonConverter<ActivityNode>
{
    private static readonly HashSet<string> Known = new(StringComparer.OrdinalIgnoreCase)
        { "id", "nodeId", "name", "type", "version", "customProperties", "metadata", "activities", "connections", "variables", "start" };

    public override ActivityNode Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var obj = JsonNode.Parse(ref reader) as JsonObject ?? throw new JsonException("An activity must be a JSON object.");
        return FromJson(obj, options);
    }

    internal static ActivityNode FromJson(JsonObject obj, JsonSerializerOptions options)
    {
        var node = new ActivityNode
        {
            Id = Str(obj, "id") ?? "",
            NodeId = Str(obj, "nodeId"),
            Name = Str(obj, "name"),
            Type = Str(obj, "type") ?? throw new JsonException($"Activity '{Str(obj, "id")}' has no 'type'."),
            Version = obj["version"] is JsonValue v && v.TryGetValue<int>(out var version) ? version : 1,
            CustomProperties = obj["customProperties"]?.DeepClone() as JsonObject,
            Metadata = obj["metadata"]?.DeepClone() as JsonObject,
            Start = Str(obj, "start"),
        };
        if (obj["activities"] is JsonArray activities)
            node.Activities = activities.OfType<JsonObject>().Select(a => FromJson(a, options)).ToList();
        if (obj["connections"] is JsonArray connections)
            node.Connections = connections.OfType<JsonObject>().Select(ConnectionConverter.FromJson).ToList();
        if (obj["variables"] is JsonArray variables)
            node.Variables = variables.Deserialize<List<VariableDefinition>>(options);
        foreach (var (key, value) in obj)
            if (!Known.Contains(key)) node.Properties[key] = value?.DeepClone();
        return node;
    }

    private static string? Str(JsonObject obj, string name) =>
        obj[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public override void Write(Utf8JsonWriter writer, ActivityNode value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("id", value.Id);
        if (value.NodeId != null) writer.WriteString("nodeId", value.NodeId);
        if (value.Name != null) writer.WriteString("name", value.Name);
        writer.WriteString("type", value.Type);
        writer.WriteNumber("version", value.Version);
        if (value.CustomProperties != null) { writer.WritePropertyName("customProperties"); value.CustomProperties.WriteTo(writer); }
        if (value.Metadata != null) { writer.WritePropertyName("metadata"); value.Metadata.WriteTo(writer); }
        if (value.Start != null) writer.WriteString("start", value.Start);
        foreach (var (key, prop) in value.Properties)
        {
            writer.WritePropertyName(key);
            if (prop is null) writer.WriteNullValue(); else prop.WriteTo(writer);
        }
        if (value.Activities != null)
        {
            writer.WritePropertyName("activities");
            JsonSerializer.Serialize(writer, value.Activities, options);
        }
        if (value.Variables != null)
        {
            writer.WritePropertyName("variables");
            JsonSerializer.Serialize(writer, value.Variables, options);
        }
        if (value.Connections != null)
        {
            writer.WritePropertyName("connections");
            JsonSerializer.Serialize(writer, value.Connections, options);
        }
        writer.WriteEndObject();
    }
}

/// <summary>Reads both connection forms (Studio's <c>{source:{activity,port}}</c> and the legacy flat one); writes the new form.</summary>
internal sealed class ConnectionConverter : JsonConverter<Connection>
{
    public override Connection Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        FromJson(JsonNode.Parse(ref reader) as JsonObject ?? throw new JsonException("A connection must be a JSON object."));

    internal static Connection FromJson(JsonObject obj) => new()
    {
        Source = ReadEndpoint(obj["source"], obj["sourcePort"], "Done"),
        Target = ReadEndpoint(obj["target"], obj["targetPort"], "In"),
        Vertices = obj["vertices"]?.DeepClone() as JsonArray,
    };

    private static Endpoint ReadEndpoint(JsonNode? endpoint, JsonNode? legacyPort, string defaultPort) => endpoint switch
    {
        JsonObject o => new Endpoint(o["activity"]?.GetValue<string>() ?? "", o["port"]?.GetValue<string>() ?? defaultPort),
        JsonValue v => new Endpoint(v.GetValue<string>(), legacyPort?.GetValue<string>() ?? defaultPort),
        _ => new Endpoint("", defaultPort),
    };

    public override void Write(Utf8JsonWriter writer, Connection value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        WriteEndpoint(writer, "source", value.Source);
        WriteEndpoint(writer, "target", value.Target);
        writer.WritePropertyName("vertices");
        (value.Vertices ?? []).WriteTo(writer);
        writer.WriteEndObject();
    }

    private static void WriteEndpoint(Utf8JsonWriter writer, string name, Endpoint endpoint)
    {
        writer.WriteStartObject(name);
        writer.WriteString("activity", endpoint.Activity);
        if (endpoint.Port != null) writer.WriteString("port", endpoint.Port);
        writer.WriteEndObject();
    }
}

/// <summary>An expression as <c>{"type":…,"value":…}</c>; delegates cannot be written.</summary>
internal sealed class ExpressionConverter : JsonConverter<Expressions.Expression>
{
    public override Expressions.Expression? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonNode.Parse(ref reader) is JsonObject o ? FromJson(o) : null;

    internal static Expressions.Expression FromJson(JsonObject o) =>
        new(o["type"]?.GetValue<string>() ?? Expressions.Expression.LiteralType, o["value"]?.DeepClone());

    public override void Write(Utf8JsonWriter writer, Expressions.Expression value, JsonSerializerOptions options)
    {
        if (value.Type == Expressions.Expression.DelegateType)
            throw new NotSupportedException("A C# delegate expression cannot be written as JSON.");
        writer.WriteStartObject();
        writer.WriteString("type", value.Type);
        writer.WritePropertyName("value");
        if (value.Value is null) writer.WriteNullValue(); else value.Value.WriteTo(writer);
        writer.WriteEndObject();
    }
}
