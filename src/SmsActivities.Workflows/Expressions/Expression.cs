using System.Text.Json.Nodes;

namespace SmsActivities.Workflows.Expressions;

/// <summary>
/// An Elsa expression <c>{type, value}</c>: Literal, Object (JSON), Variable, JavaScript; or a C#
/// delegate for code-first workflows (not serializable).
/// </summary>
public sealed class Expression
{
    public const string LiteralType = "Literal";
    public const string ObjectType = "Object";
    public const string VariableType = "Variable";
    public const string JavaScriptType = "JavaScript";
    public const string LiquidType = "Liquid";
    public const string DelegateType = "Delegate";

    public static IReadOnlyList<string> SerializableTypes { get; } = [LiteralType, ObjectType, VariableType, JavaScriptType, LiquidType];

    public string Type { get; }
    public JsonNode? Value { get; }
    internal Func<ExpressionContext, object?>? Delegate { get; }

    public Expression(string type, JsonNode? value)
    {
        Type = type;
        Value = value;
    }

    private Expression(Func<ExpressionContext, object?> @delegate)
    {
        Type = DelegateType;
        Delegate = @delegate;
    }

    public static Expression Literal(object? value) => new(LiteralType, ValueConverter.ToNode(value));
    public static Expression Variable(string name) => new(VariableType, JsonValue.Create(name));
    public static Expression JavaScript(string script) => new(JavaScriptType, JsonValue.Create(script));
    public static Expression Liquid(string template) => new(LiquidType, JsonValue.Create(template));
    public static Expression Object(string json) => new(ObjectType, JsonValue.Create(json));
    public static Expression FromDelegate(Func<ExpressionContext, object?> expression) => new(expression);

    /// <summary>The variable name or id an Elsa Variable expression refers to (a string or <c>{id,name}</c>).</summary>
    internal string? VariableReference => Value switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => (o["name"] ?? o["id"])?.GetValue<string>(),
        _ => null,
    };
}

/// <summary>What an expression can see: variables, workflow input, earlier outputs, ids.</summary>
public abstract class ExpressionContext
{
    public abstract string WorkflowInstanceId { get; }
    public abstract string? CorrelationId { get; }
    public abstract JsonNode? GetVariable(string name);
    public abstract void SetVariable(string name, object? value);
    public abstract JsonNode? GetWorkflowInput(string name);
    /// <summary>Output <paramref name="outputName"/> of the activity with this id or name; with no name, its single/first output.</summary>
    public abstract JsonNode? GetOutput(string activityIdOrName, string? outputName = null);
    public abstract IReadOnlyDictionary<string, JsonNode?> Variables { get; }
    public abstract IReadOnlyDictionary<string, JsonNode?> WorkflowInput { get; }

    public virtual string WorkflowDefinitionId => "";
    public virtual string WorkflowDefinitionVersionId => "";
    public virtual int WorkflowDefinitionVersion => 0;
    /// <summary>The declared variables plus any set so far (the names scripts get accessors for).</summary>
    public virtual IEnumerable<string> VariableNames => Variables.Keys;
    /// <summary>The <c>Result</c> output of the activity that last produced one (JavaScript's <c>getLastResult()</c>).</summary>
    public virtual JsonNode? LastResult => null;
    /// <summary>Activities that have produced outputs so far: id, name and output names.</summary>
    public virtual IEnumerable<ActivityOutputs> ActivityOutputs => [];
    public virtual void SetCorrelationId(string? correlationId) { }

    public T? GetVariable<T>(string name) => ValueConverter.Convert<T>(GetVariable(name));
    public T? GetWorkflowInput<T>(string name) => ValueConverter.Convert<T>(GetWorkflowInput(name));
}

/// <summary>The outputs one activity has produced, for expression accessors such as <c>getResultFromScript1()</c>.</summary>
public sealed record ActivityOutputs(string ActivityId, string? ActivityName, IReadOnlyCollection<string> OutputNames);
