using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Activities;

/// <summary>Reflection facts about an activity class, computed once per type.</summary>
public sealed class ActivityTypeInfo
{
    private static readonly ConcurrentDictionary<Type, ActivityTypeInfo> Cache = new();

    public Type Type { get; }
    public string TypeName { get; }
    public string Namespace { get; }
    public string Name { get; }
    public string Category { get; }
    public string DisplayName { get; }
    public string? Description { get; }
    public int Version { get; }
    public bool IsBrowsable { get; }
    public bool IsTrigger => typeof(Trigger).IsAssignableFrom(Type);
    public IReadOnlyList<InputInfo> Inputs { get; }
    public IReadOnlyList<OutputInfo> Outputs { get; }
    /// <summary>Declared flow outcomes; empty means the single implicit <c>Done</c>.</summary>
    public IReadOnlyList<string> Outcomes { get; }
    /// <summary>Properties holding child activities (a single <see cref="Activity"/> or a list of them).</summary>
    public IReadOnlyList<PropertyInfo> ChildSlots { get; }

    private ActivityTypeInfo(Type type)
    {
        var attribute = type.GetCustomAttribute<ActivityAttribute>(inherit: false);
        Type = type;
        Namespace = attribute?.Namespace ?? type.Namespace ?? "";
        Name = attribute?.TypeName ?? type.Name;
        TypeName = Namespace.Length == 0 ? Name : $"{Namespace}.{Name}";
        Category = attribute?.Category ?? "Miscellaneous";
        DisplayName = attribute?.DisplayName ?? Humanize(Name);
        Description = attribute?.Description;
        Version = attribute?.Version ?? 1;
        IsBrowsable = attribute?.IsBrowsable ?? true;
        Outcomes = type.GetCustomAttribute<FlowNodeAttribute>(inherit: true)?.Outcomes ?? [];
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true } && p.DeclaringType != typeof(Activity)).ToList();
        Inputs = properties
            .Where(p => typeof(Input).IsAssignableFrom(p.PropertyType) || p.GetCustomAttribute<InputAttribute>() != null && !IsActivitySlot(p))
            .Select((p, i) => new InputInfo(p, i))
            .OrderBy(i => i.Attribute?.Order ?? 0).ThenBy(i => i.Index)
            .ToList();
        Outputs = properties.Where(p => typeof(Output).IsAssignableFrom(p.PropertyType)).Select(p => new OutputInfo(p)).ToList();
        ChildSlots = properties.Where(IsActivitySlot).ToList();
    }

    public static ActivityTypeInfo Get(Type type) => Cache.GetOrAdd(type, t => new ActivityTypeInfo(t));

    public static string TypeNameOf(Type type) => Get(type).TypeName;

    private static bool IsActivitySlot(PropertyInfo p) =>
        typeof(Activity).IsAssignableFrom(p.PropertyType) || typeof(IEnumerable<Activity>).IsAssignableFrom(p.PropertyType);

    internal static string Humanize(string name) =>
        string.Concat(name.Select((c, i) => i > 0 && char.IsUpper(c) && !char.IsUpper(name[i - 1]) ? " " + c : c.ToString()));

    internal static string CamelCase(string name) => JsonNamingPolicy.CamelCase.ConvertName(name);

    /// <summary>Elsa's short type aliases, which Studio shows and writes back in <c>typeName</c>.</summary>
    public static string TypeAlias(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string)) return "String";
        if (type == typeof(bool)) return "Boolean";
        if (type == typeof(int)) return "Int32";
        if (type == typeof(long)) return "Int64";
        if (type == typeof(double)) return "Double";
        if (type == typeof(decimal)) return "Decimal";
        if (type == typeof(TimeSpan)) return "TimeSpan";
        if (type == typeof(DateTimeOffset)) return "DateTimeOffset";
        if (type == typeof(DateTime)) return "DateTime";
        if (type == typeof(object) || typeof(JsonNode).IsAssignableFrom(type)) return "Object";
        if (type.IsArray) return TypeAlias(type.GetElementType()!) + "[]";
        if (type.IsGenericType && type.GetGenericArguments() is [var item] && typeof(System.Collections.IEnumerable).IsAssignableFrom(type))
            return TypeAlias(item) + "[]";
        return type.Name;
    }
}

/// <summary>An input property. Wrapped inputs are <see cref="Input{T}"/>; unwrapped ones hold plain JSON-deserialized values.</summary>
public sealed class InputInfo
{
    internal InputInfo(PropertyInfo property, int index)
    {
        Property = property;
        Index = index;
        Attribute = property.GetCustomAttribute<InputAttribute>();
        IsWrapped = typeof(Input).IsAssignableFrom(property.PropertyType);
        ValueType = IsWrapped ? property.PropertyType.GetGenericArguments()[0] : property.PropertyType;
        Name = property.Name;
        JsonName = ActivityTypeInfo.CamelCase(property.Name);
    }

    public PropertyInfo Property { get; }
    internal int Index { get; }
    public InputAttribute? Attribute { get; }
    public bool IsWrapped { get; }
    public Type ValueType { get; }
    public string Name { get; }
    public string JsonName { get; }
    public bool IsSensitive => (Attribute?.IsSensitive ?? false) || IsSecret;
    public bool IsSecret => Attribute?.IsSecret ?? false;
    public bool IsRequired => Attribute?.IsRequired ?? false;

    public string UIHint => Attribute?.UIHint ?? (Attribute?.Options is { Length: > 0 } || Attribute?.OptionsProvider is not null ? InputUIHints.DropDown
        : ValueType == typeof(bool) || ValueType == typeof(bool?) ? InputUIHints.Checkbox
        : ValueType != typeof(string) && typeof(IEnumerable<string>).IsAssignableFrom(ValueType) ? InputUIHints.MultiText
        : InputUIHints.SingleLine);

    /// <summary>Creates the input wrapper around an expression.</summary>
    internal Input CreateInput(Expressions.Expression expression) =>
        (Input)Activator.CreateInstance(Property.PropertyType, expression)!;

    internal JsonNode? DefaultValueNode => Attribute?.DefaultValue is { } value ? JsonSerializer.SerializeToNode(value, WorkflowJson.Options) : null;
}

public sealed class OutputInfo(PropertyInfo property)
{
    public PropertyInfo Property { get; } = property;
    public OutputAttribute? Attribute { get; } = property.GetCustomAttribute<OutputAttribute>();
    public Type ValueType { get; } = property.PropertyType.GetGenericArguments()[0];
    public string Name => Property.Name;
    public string JsonName => ActivityTypeInfo.CamelCase(Property.Name);
    public bool IsSensitive => Attribute?.IsSensitive ?? false;
}
