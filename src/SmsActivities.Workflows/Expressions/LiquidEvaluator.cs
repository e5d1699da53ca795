using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Fluid;
using Fluid.Values;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Expressions;

/// <summary>
/// Liquid templates (Fluid) with Elsa's model: <c>Variables</c>, <c>Input</c>, <c>Workflow</c> (<c>Id</c>,
/// <c>DefinitionId</c>, <c>DefinitionVersionId</c>, <c>Version</c>, <c>CorrelationId</c>), <c>CorrelationId</c>,
/// <c>WorkflowInstanceId</c>, <c>Activities.&lt;name or id&gt;.&lt;output&gt;</c> and <c>LastResult</c>; the standard
/// Liquid filters plus Elsa's <c>json</c> and <c>base64</c>. Output is not HTML-encoded: templates here render SMS
/// texts and JSON, where <c>&amp;amp;</c> would be wrong.
/// </summary>
public sealed class LiquidEvaluator
{
    private static readonly FluidParser Parser = new();
    private readonly ConcurrentDictionary<string, IFluidTemplate> _parsed = new(StringComparer.Ordinal);
    private readonly TemplateOptions _options;
    private readonly int _cacheSize;

    public LiquidEvaluator(Microsoft.Extensions.Options.IOptions<ScriptOptions> options)
    {
        _cacheSize = options.Value.ParsedScriptCacheSize;
        _options = new TemplateOptions { MaxSteps = options.Value.MaxStatements, MaxRecursion = options.Value.MaxRecursionDepth };
        _options.Filters.AddFilter("json", (input, _, _) => new StringValue(ToJson(input)));
        _options.Filters.AddFilter("base64", (input, _, _) => new StringValue(Convert.ToBase64String(Encoding.UTF8.GetBytes(input.ToStringValue()))));
    }

    public string? Render(string template, ExpressionContext context)
    {
        if (string.IsNullOrEmpty(template)) return template;
        var parsed = Parse(template);
        var model = new TemplateContext(_options);
        model.SetValue("Variables", Plain(context.VariableNames.Distinct().ToDictionary(n => n, context.GetVariable)));
        model.SetValue("Input", Plain(context.WorkflowInput));
        model.SetValue("Workflow", new Dictionary<string, object?>
        {
            ["Id"] = context.WorkflowInstanceId, ["InstanceId"] = context.WorkflowInstanceId, ["DefinitionId"] = context.WorkflowDefinitionId,
            ["DefinitionVersionId"] = context.WorkflowDefinitionVersionId, ["Version"] = context.WorkflowDefinitionVersion,
            ["CorrelationId"] = context.CorrelationId,
        });
        model.SetValue("CorrelationId", context.CorrelationId);
        model.SetValue("WorkflowInstanceId", context.WorkflowInstanceId);
        model.SetValue("LastResult", ValueConverter.ToPlain(context.LastResult));
        var activities = new Dictionary<string, object?>();
        foreach (var activity in context.ActivityOutputs)
        {
            var outputs = activity.OutputNames.ToDictionary(o => o, o => ValueConverter.ToPlain(context.GetOutput(activity.ActivityId, o)));
            activities[activity.ActivityId] = outputs;
            if (activity.ActivityName is { } name) activities.TryAdd(name, outputs);
        }
        model.SetValue("Activities", activities);
        try
        {
            return parsed.Render(model, NullEncoder.Default);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new ScriptException($"Liquid failed: {e.Message}", null, e);
        }
    }

    private IFluidTemplate Parse(string template)
    {
        if (_parsed.TryGetValue(template, out var parsed)) return parsed;
        if (!Parser.TryParse(template, out parsed, out var error))
            throw new ScriptException($"Liquid syntax error: {error}", LineOf(error));
        if (_parsed.Count >= _cacheSize) _parsed.Clear();
        return _parsed[template] = parsed;
    }

    /// <summary>Fluid reports positions as "(line:column)".</summary>
    private static int? LineOf(string error)
    {
        var match = System.Text.RegularExpressions.Regex.Match(error, @"\((\d+):\d+\)");
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    private static Dictionary<string, object?> Plain(IReadOnlyDictionary<string, JsonNode?> values) =>
        values.ToDictionary(p => p.Key, p => ValueConverter.ToPlain(p.Value));

    private static string ToJson(FluidValue value) =>
        System.Text.Json.JsonSerializer.Serialize(value.ToObjectValue(), WorkflowJson.Options);
}
