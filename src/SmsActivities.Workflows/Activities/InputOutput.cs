using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Activities;

/// <summary>An activity input: an expression evaluated when the activity runs.</summary>
public abstract class Input(Expression expression, Type valueType)
{
    public Expression Expression { get; } = expression;
    public Type ValueType { get; } = valueType;
}

public sealed class Input<T> : Input
{
    public Input(T value) : base(Expression.Literal(value), typeof(T)) { }
    public Input(Func<ExpressionContext, T> expression) : base(Expression.FromDelegate(c => expression(c)), typeof(T)) { }
    public Input(Expression expression) : base(expression, typeof(T)) { }

    public static implicit operator Input<T>(T value) => new(value);
}

/// <summary>
/// An activity output. Every output is recorded under the activity's id (readable by later
/// activities and JavaScript's <c>getOutputFrom</c>); when bound to a variable it is also copied there.
/// </summary>
public abstract class Output(Type valueType)
{
    public Type ValueType { get; } = valueType;
    /// <summary>Name or id of the variable the output is captured into (Elsa's <c>memoryReference</c>).</summary>
    public string? VariableName { get; set; }
}

public sealed class Output<T>() : Output(typeof(T))
{
    public Output(string variableName) : this() => VariableName = variableName;
}
