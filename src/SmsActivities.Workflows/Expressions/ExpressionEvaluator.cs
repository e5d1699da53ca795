using System.Text.Json.Nodes;
using Jint;
using Jint.Native;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Expressions;

/// <summary>Evaluates the expression kinds of <see cref="Expression"/>.</summary>
public sealed class ExpressionEvaluator
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Helpers defined in every script. Values cross the .NET/JS boundary as JSON text because Jint 2
    /// wraps CLR dictionaries as opaque host objects; JSON keeps them plain JS objects and arrays.
    /// </summary>
    private const string Prelude = """
        function __p(j) { return j === null || j === undefined ? null : JSON.parse(j); }
        function getVariable(n) { return __p(__getVariable(n)); }
        function setVariable(n, v) { __setVariable(n, v === undefined ? null : JSON.stringify(v)); }
        function getInput(n) { return __p(__getInput(n)); }
        function getOutputFrom(a, o) { return __p(__getOutput(a, o === undefined ? null : o)); }
        var variables = __p(__variables);
        var input = __p(__input);
        var workflowInstanceId = __instanceId;
        var correlationId = __correlationId;
        function getWorkflowInstanceId() { return workflowInstanceId; }
        function getCorrelationId() { return correlationId; }
        """;

    public JsonNode? Evaluate(Expression expression, ExpressionContext context) => expression.Type switch
    {
        Expression.LiteralType => expression.Value?.DeepClone(),
        Expression.ObjectType => expression.Value is JsonValue v && v.TryGetValue<string>(out var json)
            ? (string.IsNullOrWhiteSpace(json) ? null : JsonNode.Parse(json))
            : expression.Value?.DeepClone(),
        Expression.VariableType => expression.VariableReference is { } name ? context.GetVariable(name) : null,
        Expression.JavaScriptType => EvaluateJavaScript(expression.Value?.GetValue<string>() ?? "", context),
        Expression.DelegateType => ValueConverter.ToNode(expression.Delegate!(context)),
        _ => throw new NotSupportedException($"Expression type '{expression.Type}' is not supported."),
    };

    /// <summary>Evaluates an input to its declared CLR type. Delegate results that already fit are passed through unconverted.</summary>
    public object? Evaluate(Input input, ExpressionContext context)
    {
        if (input.Expression.Type == Expression.DelegateType)
        {
            var raw = input.Expression.Delegate!(context);
            if (raw is null || input.ValueType.IsInstanceOfType(raw)) return raw;
            return ValueConverter.Convert(ValueConverter.ToNode(raw), input.ValueType);
        }
        return ValueConverter.Convert(Evaluate(input.Expression, context), input.ValueType);
    }

    private static JsonNode? EvaluateJavaScript(string script, ExpressionContext context)
    {
        if (string.IsNullOrWhiteSpace(script)) return null;
        var engine = new Engine(options => options.TimeoutInterval(ScriptTimeout).LimitRecursion(256));
        engine.SetValue("__getVariable", new Func<string, string?>(n => Json(context.GetVariable(n))));
        engine.SetValue("__setVariable", new Action<string, string?>((n, j) => context.SetVariable(n, j is null ? null : JsonNode.Parse(j))));
        engine.SetValue("__getInput", new Func<string, string?>(n => Json(context.GetWorkflowInput(n))));
        engine.SetValue("__getOutput", new Func<string, string?, string?>((a, o) => Json(context.GetOutput(a, o))));
        engine.SetValue("__variables", ToJsonObject(context.Variables).ToJsonString());
        engine.SetValue("__input", ToJsonObject(context.WorkflowInput).ToJsonString());
        engine.SetValue("__instanceId", context.WorkflowInstanceId);
        engine.SetValue("__correlationId", context.CorrelationId ?? (object)JsValue.Null);
        engine.Execute(Prelude);
        var result = engine.Execute(script).GetCompletionValue();
        if (result.IsNull() || result.IsUndefined()) return null;
        if (result.IsObject())
        {
            engine.SetValue("__result", result);
            var text = engine.Execute("JSON.stringify(__result)").GetCompletionValue();
            return text.IsString() ? JsonNode.Parse(text.AsString()) : null;
        }
        return ValueConverter.ToNode(result.ToObject());
    }

    private static string? Json(JsonNode? node) => node?.ToJsonString(WorkflowJson.Options);

    private static JsonObject ToJsonObject(IReadOnlyDictionary<string, JsonNode?> values)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in values) obj[key] = value?.DeepClone();
        return obj;
    }
}
