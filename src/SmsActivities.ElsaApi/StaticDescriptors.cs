namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// The descriptor lookups whose answers describe the server itself rather than any workflow: expression languages,
/// variable types, storage drivers, strategies. Studio calls each of them and crashes on a 404.
/// </summary>
public static class StaticDescriptors
{
    public sealed record ExpressionDescriptor(string Type, string DisplayName, bool IsSerializable, bool IsBrowsable, IReadOnlyDictionary<string, object> Properties);

    /// <summary>
    /// The expression languages the runtime evaluates: Literal, Variable, JSON objects, JavaScript (Jint, ES2023) and
    /// Liquid (Fluid). Studio needs at least one that is not Literal/Object/Variable/Input.
    /// </summary>
    public static readonly IReadOnlyList<ExpressionDescriptor> Expressions =
    [
        new("Literal", "Literal", true, false, new Dictionary<string, object>()),
        new("Object", "Object", true, false, new Dictionary<string, object> { ["MonacoLanguage"] = "json" }),
        new("Variable", "Variable", true, false, new Dictionary<string, object>()),
        new("JavaScript", "JavaScript", true, true, new Dictionary<string, object> { ["MonacoLanguage"] = "javascript" }),
        new("Liquid", "Liquid", true, true, new Dictionary<string, object> { ["MonacoLanguage"] = "liquid" }),
    ];

    public sealed record VariableTypeDescriptor(string TypeName, string DisplayName, string Category, string? Description);

    public static readonly IReadOnlyList<VariableTypeDescriptor> VariableTypes =
    [
        new("String", "String", "Primitives", "A sequence of characters."),
        new("Boolean", "Boolean", "Primitives", "True or false."),
        new("Int32", "Int32", "Primitives", "A 32-bit integer."),
        new("Int64", "Int64", "Primitives", "A 64-bit integer."),
        new("Double", "Double", "Primitives", "A floating-point number."),
        new("Decimal", "Decimal", "Primitives", "A decimal number."),
        new("DateTimeOffset", "DateTimeOffset", "Primitives", "A point in time with its offset."),
        new("TimeSpan", "TimeSpan", "Primitives", "A duration."),
        new("Object", "Object", "Primitives", "Any JSON value."),
        new("JsonObject", "JsonObject", "Dynamic", "A JSON object."),
        new("StringList", "String list", "Lists", "A list of strings (e.g. phone numbers)."),
    ];

    public sealed record StorageDriverDescriptor(string TypeName, string DisplayName, int Priority, bool Deprecated);

    /// <summary>Variables are persisted with the workflow instance (one driver).</summary>
    public static readonly IReadOnlyList<StorageDriverDescriptor> StorageDrivers =
    [
        new("Elsa.Workflows.Services.WorkflowInstanceStorageDriver, Elsa.Workflows.Core", "Workflow Instance", 0, false),
        new("Elsa.Workflows.Services.MemoryStorageDriver, Elsa.Workflows.Core", "Memory", -1, false),
    ];

    public sealed record StrategyDescriptor(string TypeName, string DisplayName, string Description);

    /// <summary>Activation strategies the runtime honours: none besides the default (always start a new instance).</summary>
    public static readonly IReadOnlyList<StrategyDescriptor> ActivationStrategies = [];

    public static readonly IReadOnlyList<StrategyDescriptor> IncidentStrategies = [];

    public static readonly IReadOnlyList<StrategyDescriptor> LogPersistenceStrategies = [];

    public sealed record CommitStrategyDescriptor(string Name, string DisplayName, string Description);

    /// <summary>The runtime commits at every suspension and at completion; no selectable strategies.</summary>
    public static readonly IReadOnlyList<CommitStrategyDescriptor> CommitStrategies = [];
}
