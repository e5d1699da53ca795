namespace SmsActivities.Workflows.Expressions;

/// <summary>One name a JavaScript expression can use, with a TypeScript-style signature for editors.</summary>
public sealed record ScriptFunction(string Name, string Signature, string Description);

/// <summary>
/// Everything a JavaScript expression sees besides the language itself, under Elsa 3's names. Editors (Monaco type
/// definitions) read this list; <see cref="JavaScriptEvaluator"/> defines exactly these. Per-workflow names follow
/// <see cref="VariableGetterPattern"/>, <see cref="VariableSetterPattern"/>, <see cref="InputGetterPattern"/> and
/// <see cref="OutputGetterPattern"/>.
/// </summary>
public static class ScriptSurface
{
    public const string VariableGetterPattern = "get{Variable}";
    public const string VariableSetterPattern = "set{Variable}";
    public const string InputGetterPattern = "get{Input}";
    public const string OutputGetterPattern = "get{Output}From{Activity}";

    public static IReadOnlyList<ScriptFunction> Functions { get; } =
    [
        new("getWorkflowDefinitionId", "(): string", "The definition id of the running workflow."),
        new("getWorkflowDefinitionVersionId", "(): string", "The id of the running definition version."),
        new("getWorkflowDefinitionVersion", "(): number", "The version number of the running definition."),
        new("getWorkflowInstanceId", "(): string", "The id of the workflow instance."),
        new("getCorrelationId", "(): string | null", "The correlation id of the instance."),
        new("setCorrelationId", "(value: string | null): void", "Sets the correlation id of the instance."),
        new("getVariable", "(name: string): any", "The value of a workflow variable."),
        new("setVariable", "(name: string, value: any): void", "Sets a workflow variable."),
        new("getInput", "(name: string): any", "A workflow input."),
        new("getOutputFrom", "(activityIdOrName: string, outputName?: string): any", "An output of an activity that ran (its first output when no name is given)."),
        new("getLastResult", "(): any", "The Result output of the activity that last produced one."),
        new("isNullOrWhiteSpace", "(value: string | null): boolean", "True for null, empty or blank text."),
        new("isNullOrEmpty", "(value: string | null): boolean", "True for null or empty text."),
        new("toJson", "(value: any): string", "JSON text of a value."),
        new("parseGuid", "(value: string): string", "Parses a GUID (throws on bad text), returned in canonical form."),
        new("newGuid", "(): string", "A new random GUID."),
        new("newGuidString", "(): string", "A new random GUID as text."),
        new("newShortGuid", "(): string", "A new random GUID in short base64 form (22 characters, no '/', '+' or '=')."),
        new("getGuidString", "(): string", "Same as newGuidString (kept for older scripts)."),
        new("getShortGuid", "(): string", "Same as newShortGuid (kept for older scripts)."),
        new("stringToBase64", "(value: string): string", "UTF-8 text to base64."),
        new("stringFromBase64", "(value: string): string", "Base64 to UTF-8 text."),
    ];

    /// <summary>Objects and values defined in every script.</summary>
    public static IReadOnlyList<ScriptFunction> Globals { get; } =
    [
        new("variables", "Record<string, any>", "The workflow variables; assigning a property sets the variable."),
        new("input", "Record<string, any>", "The workflow input."),
        new("workflowInstanceId", "string", "The id of the workflow instance."),
        new("correlationId", "string | null", "The correlation id of the instance."),
    ];

    /// <summary>
    /// Elsa's accessor names are the Pascal-cased name (Humanizer's rule: a letter after the start, an underscore
    /// or spaces is upper-cased and the separator dropped): <c>counter</c> → <c>getCounter</c>.
    /// </summary>
    public static string Pascalize(string name)
    {
        var chars = new System.Text.StringBuilder(name.Length);
        var upper = true;
        foreach (var c in name)
        {
            if (c is '_' or ' ') { upper = true; continue; }
            chars.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }
        return chars.ToString();
    }

    /// <summary>Names that can become part of a JavaScript identifier; others get no accessor (as in Elsa).</summary>
    public static bool IsValidName(string name) =>
        name.Length > 0 && (char.IsLetter(name[0]) || name[0] is '_' or '$') && name.All(c => char.IsLetterOrDigit(c) || c is '_' or '$');
}
