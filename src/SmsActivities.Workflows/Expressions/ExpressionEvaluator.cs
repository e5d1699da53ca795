using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;

namespace SmsActivities.Workflows.Expressions;

/// <summary>Evaluates the expression kinds of <see cref="Expression"/>.</summary>
public sealed class ExpressionEvaluator(JavaScriptEvaluator javaScript, LiquidEvaluator liquid)
{
    public JsonNode? Evaluate(Expression expression, ExpressionContext context) => expression.Type switch
    {
        Expression.LiteralType => expression.Value?.DeepClone(),
        Expression.ObjectType => expression.Value is JsonValue v && v.TryGetValue<string>(out var json)
            ? (string.IsNullOrWhiteSpace(json) ? null : JsonNode.Parse(json))
            : expression.Value?.DeepClone(),
        Expression.VariableType => expression.VariableReference is { } name ? context.GetVariable(name) : null,
        Expression.JavaScriptType => javaScript.Evaluate(TextOf(expression), context),
        Expression.LiquidType => liquid.Render(TextOf(expression), context) is { } text ? JsonValue.Create(text) : null,
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

    private static string TextOf(Expression expression) =>
        expression.Value is JsonValue v && v.TryGetValue<string>(out var text) ? text : expression.Value?.ToJsonString() ?? "";
}
