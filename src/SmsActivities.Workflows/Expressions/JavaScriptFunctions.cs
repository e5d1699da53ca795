namespace SmsActivities.Workflows.Expressions;

/// <summary>A function every JavaScript expression can call, as the script editor declares it (TypeScript types).</summary>
public sealed record ScriptFunction(string Name, IReadOnlyList<ScriptParameter> Parameters, string? ReturnType)
{
    public string Declaration =>
        $"declare function {Name}({string.Join(", ", Parameters.Select(p => $"{p.Name}{(p.IsOptional ? "?" : "")}: {p.Type}"))}){(ReturnType is null ? "" : ": " + ReturnType)};";
}

public sealed record ScriptParameter(string Name, string Type, bool IsOptional = false);

/// <summary>
/// The script surface JavaScript expressions are written against: Elsa 3's common functions (the same names and
/// signatures Elsa declares to Studio's editor), plus the per-workflow wrappers Elsa generates —
/// <c>get&lt;Variable&gt;()</c> / <c>set&lt;Variable&gt;(value)</c> for each workflow variable,
/// <c>get&lt;Input&gt;()</c> for each workflow input and <c>get&lt;Output&gt;From&lt;Activity&gt;()</c> for each
/// named activity's output. The script editor's IntelliSense is generated from this one list.
/// </summary>
public static class JavaScriptFunctions
{
    public static IReadOnlyList<ScriptFunction> Common { get; } =
    [
        F("getWorkflowDefinitionId", "string"),
        F("getWorkflowDefinitionVersionId", "string"),
        F("getWorkflowDefinitionVersion", "number"),
        F("getWorkflowInstanceId", "string"),
        F("getCorrelationId", "string"),
        F("setCorrelationId", null, P("value", "string")),
        F("getWorkflowInstanceName", "string"),
        F("setWorkflowInstanceName", null, P("value", "string")),
        F("setVariable", null, P("name", "string"), P("value", "any")),
        F("getVariable", "any", P("name", "string")),
        F("getInput", "any", P("name", "string")),
        F("getOutputFrom", "any", P("activityIdOrName", "string"), new ScriptParameter("outputName", "string", IsOptional: true)),
        F("getLastResult", "any"),
        F("isNullOrWhiteSpace", "boolean", P("value", "string")),
        F("isNullOrEmpty", "boolean", P("value", "string")),
        F("parseGuid", "string", P("value", "string")),
        F("getShortGuid", "string"),
        F("getGuid", "string"),
        F("getGuidString", "string"),
        F("toJson", "string", P("value", "any")),
        F("bytesToString", "string", P("value", "number[]")),
        F("bytesFromString", "number[]", P("value", "string")),
        F("bytesToBase64", "string", P("value", "number[]")),
        F("bytesFromBase64", "number[]", P("value", "string")),
        F("stringFromBase64", "string", P("value", "string")),
        F("stringToBase64", "string", P("value", "string")),
    ];

    /// <summary><c>get&lt;Name&gt;</c> and <c>set&lt;Name&gt;</c> for a workflow variable (none for a name that is not an identifier).</summary>
    public static IEnumerable<ScriptFunction> ForVariable(string name, string type) =>
        IsIdentifier(name) ? [F("get" + Pascalize(name), type), F("set" + Pascalize(name), null, P("value", type))] : [];

    /// <summary><c>get&lt;Name&gt;</c> for a workflow input.</summary>
    public static IEnumerable<ScriptFunction> ForInput(string name, string type) =>
        IsIdentifier(name) ? [F("get" + Pascalize(name), type)] : [];

    /// <summary><c>get&lt;Output&gt;From&lt;Activity&gt;</c> for an output of a named activity.</summary>
    public static IEnumerable<ScriptFunction> ForActivityOutput(string activityName, string outputName, string type) =>
        IsIdentifier(activityName) && IsIdentifier(outputName) ? [F($"get{Pascalize(outputName)}From{Pascalize(activityName)}", type)] : [];

    /// <summary>Whether a name can be part of a JavaScript identifier (letters, digits, <c>_</c>, <c>$</c>; not starting with a digit).</summary>
    public static bool IsIdentifier(string name) =>
        name.Length > 0 && !char.IsDigit(name[0]) && name.All(c => char.IsLetterOrDigit(c) || c is '_' or '$');

    public static string Pascalize(string name) => name.Length == 0 ? name : char.ToUpperInvariant(name[0]) + name[1..];

    private static ScriptFunction F(string name, string? returnType, params ScriptParameter[] parameters) => new(name, parameters, returnType);

    private static ScriptParameter P(string name, string type) => new(name, type);
}
