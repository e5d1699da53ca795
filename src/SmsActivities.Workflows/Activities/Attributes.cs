namespace SmsActivities.Workflows.Activities;

/// <summary>Names an activity type: <c>{Namespace}.{TypeName ?? class name}</c>, e.g. <c>Elsa.WriteLine</c>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ActivityAttribute(string @namespace, string? category = null, string? description = null) : Attribute
{
    public string Namespace { get; } = @namespace;
    public string? Category { get; } = category;
    public string? Description { get; } = description;
    /// <summary>Short type name; defaults to the class name.</summary>
    public string? TypeName { get; init; }
    public string? DisplayName { get; init; }
    public int Version { get; init; } = 1;
    /// <summary>False hides the activity from Studio's toolbox.</summary>
    public bool IsBrowsable { get; init; } = true;
}

/// <summary>Describes an <see cref="Input{T}"/> property for the descriptor Studio reads.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class InputAttribute : Attribute
{
    public string? DisplayName { get; init; }
    public string? Description { get; init; }
    public string? Category { get; init; }
    /// <summary>One of <see cref="InputUIHints"/>.</summary>
    public string? UIHint { get; init; }
    /// <summary>Choices of a drop-down.</summary>
    public string[]? Options { get; init; }
    /// <summary>
    /// A type implementing <see cref="IInputOptionsProvider"/>, resolved from the host's services each time
    /// descriptors are built: drop-down choices that depend on configuration (e.g. the configured vendors);
    /// or <see cref="IWorkflowInputOptionsProvider"/>: choices that depend on the workflow being edited (Studio asks
    /// for them when it shows the input).
    /// </summary>
    public Type? OptionsProvider { get; init; }
    /// <summary>Used when the definition leaves the input out.</summary>
    public object? DefaultValue { get; init; }
    /// <summary>Masked ("***") in the journal and in activity execution records.</summary>
    public bool IsSensitive { get; init; }
    /// <summary>
    /// Sensitive, and more: the evaluated value (a string) is marked secret for the rest of the run
    /// (<see cref="Execution.ActivityExecutionContext.MarkSecret"/>), so wherever else it shows up in what the runtime
    /// stores (the output it came from, variables, the journal, the workflow output) it is blanked at commit.
    /// </summary>
    public bool IsSecret { get; init; }
    /// <summary>A definition that leaves a required input empty is rejected, naming the activity.</summary>
    public bool IsRequired { get; init; }
    public string DefaultSyntax { get; init; } = "Literal";
    public int Order { get; init; }
    public bool IsBrowsable { get; init; } = true;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class OutputAttribute : Attribute
{
    public string? DisplayName { get; init; }
    public string? Description { get; init; }
    public bool IsSensitive { get; init; }
}

/// <summary>The flow outcomes (out-ports) an activity may complete with; without it the single port is <c>Done</c>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class FlowNodeAttribute(params string[] outcomes) : Attribute
{
    public IReadOnlyList<string> Outcomes { get; } = outcomes;
}

/// <summary>UI hints Studio understands (Elsa's <c>InputUIHints</c>).</summary>
public static class InputUIHints
{
    public const string SingleLine = "singleline";
    public const string MultiLine = "multiline";
    public const string MultiText = "multitext";
    public const string DropDown = "dropdown";
    public const string Checkbox = "checkbox";
    public const string CheckList = "checklist";
    public const string CodeEditor = "code-editor";
    public const string JsonEditor = "json-editor";
    public const string Dictionary = "dictionary";
    public const string DateTimePicker = "datetime-picker";
    public const string OutcomePicker = "outcome-picker";
    public const string DynamicOutcomes = "dynamic-outcomes";
    public const string WorkflowDefinitionPicker = "workflow-definition-picker";
}

/// <summary>Supplies the choices of a drop-down input at the time descriptors are built.</summary>
public interface IInputOptionsProvider
{
    IReadOnlyList<string> GetOptions(InputInfo input);
}

/// <summary>A drop-down choice: the text shown and the value stored.</summary>
public sealed record InputOption(string Text, string Value);

/// <summary>Supplies the choices of a drop-down input from the workflow definition being edited (e.g. its activities).</summary>
public interface IWorkflowInputOptionsProvider
{
    IReadOnlyList<InputOption> GetOptions(InputInfo input, Model.WorkflowDefinition definition);
}
