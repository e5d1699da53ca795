using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// <c>POST /scripting/javascript/type-definitions/{definitionId}</c>: the TypeScript declarations Studio's script
/// editor (Monaco) loads for IntelliSense, as Elsa generates them: the common script functions, the workflow's
/// variables (typed, as <c>variables.&lt;name&gt;</c> and <c>get/set&lt;Name&gt;()</c>), its inputs and the outputs of
/// its named activities (<c>get&lt;Output&gt;From&lt;Activity&gt;()</c>). Of the latest version, like Elsa.
/// </summary>
public static class ScriptingEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/scripting/javascript/type-definitions/{definitionId}", async (string definitionId, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, ActivityRegistry registry, CancellationToken ct) =>
            (await service.GetAsync(definitionId, VersionOptions.Latest, ct) ?? codeFirst.Find(definitionId)) is { } definition
                ? Results.Text(Declarations(definition, registry), "application/x-typescript", Encoding.UTF8)
                : DefinitionEndpoints.NotFound("definition", definitionId))
            .WithTags("Scripting");
    }

    /// <summary>The runtime's script surface (<see cref="ScriptSurface"/>) plus this workflow's accessors, as TypeScript declarations.</summary>
    public static string Declarations(WorkflowDefinition definition, ActivityRegistry registry)
    {
        var functions = ScriptSurface.Functions.Select(f => (f.Name, f.Signature)).ToList();
        foreach (var variable in definition.Variables.Where(v => ScriptSurface.IsValidName(v.Name)))
        {
            var type = TypeScript(variable.TypeName, variable.IsArray);
            functions.Add((Accessor(ScriptSurface.VariableGetterPattern, "{Variable}", variable.Name), $"(): {type}"));
            functions.Add((Accessor(ScriptSurface.VariableSetterPattern, "{Variable}", variable.Name), $"(value: {type}): void"));
        }
        foreach (var input in definition.Inputs.Where(i => ScriptSurface.IsValidName(i.Name)))
            functions.Add((Accessor(ScriptSurface.InputGetterPattern, "{Input}", input.Name), $"(): {TypeScript(input.Type, input.IsArray)}"));
        foreach (var activity in ActivityNodes.Of(definition))
        {
            if ((string?)activity["name"] is not { } name || !ScriptSurface.IsValidName(name) || registry.Find((string?)activity["type"] ?? "") is not { } info) continue;
            foreach (var output in info.Outputs.Where(o => ScriptSurface.IsValidName(o.Name)))
            {
                var accessor = ScriptSurface.OutputGetterPattern.Replace("{Output}", ScriptSurface.Pascalize(output.Name), StringComparison.Ordinal)
                    .Replace("{Activity}", ScriptSurface.Pascalize(name), StringComparison.Ordinal);
                functions.Add((accessor, $"(): {TypeScript(ActivityTypeInfo.TypeAlias(output.ValueType), false)}"));
            }
        }

        var text = new StringBuilder();
        foreach (var (name, signature) in functions.DistinctBy(f => f.Name)) text.AppendLine($"declare function {name}{signature};");
        text.AppendLine("declare class WorkflowVariables {");
        foreach (var variable in definition.Variables.Where(v => ScriptSurface.IsValidName(v.Name)))
            text.AppendLine($"    {variable.Name}: {TypeScript(variable.TypeName, variable.IsArray)};");
        text.AppendLine("}");
        text.AppendLine("declare var variables: WorkflowVariables;");
        foreach (var global in ScriptSurface.Globals.Where(g => g.Name != "variables")) text.AppendLine($"declare var {global.Name}: {global.Signature};");
        return text.ToString();
    }

    private static string Accessor(string pattern, string placeholder, string name) => pattern.Replace(placeholder, ScriptSurface.Pascalize(name), StringComparison.Ordinal);

    /// <summary>A TypeScript type for an Elsa type alias (<c>String</c>, <c>Int32</c>, <c>String[]</c>, …); <c>any</c> when unknown.</summary>
    public static string TypeScript(string? typeName, bool isArray)
    {
        if (typeName is null) return "any";
        if (typeName.EndsWith("[]", StringComparison.Ordinal)) return TypeScript(typeName[..^2], true);
        var type = typeName switch
        {
            "String" => "string",
            "Boolean" => "boolean",
            "Int32" or "Int64" or "Double" or "Decimal" or "Single" => "number",
            "DateTimeOffset" or "DateTime" or "TimeSpan" => "string",
            "StringList" => "string[]",
            _ => "any",
        };
        return isArray ? type + "[]" : type;
    }
}
