using Jint;
using Jint.Native;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Activities.BuiltIn;

/// <summary>
/// Elsa's RunJavaScript: runs a script with the whole script surface; what it returns is the <c>Result</c> output.
/// The script may pick the outcomes it leaves by with <c>setOutcome('Name')</c> or <c>setOutcomes([...])</c> (declare
/// them in PossibleOutcomes so the designer shows their ports); otherwise it leaves by <c>Done</c>.
/// </summary>
[Activity("Elsa", "Scripting", "Executes JavaScript code.", DisplayName = "Run JavaScript")]
public sealed class RunJavaScript : Activity
{
    [Input(Description = "The script to run (its text, written as a Literal; Studio shows a code editor).", UIHint = InputUIHints.CodeEditor)]
    public Input<string> Script { get; set; } = new("");

    [Input(Description = "The outcomes the script can set with setOutcome/setOutcomes.", UIHint = InputUIHints.DynamicOutcomes)]
    public Input<List<string>>? PossibleOutcomes { get; set; }

    [Output(Description = "The value the script returned.")]
    public Output<object?> Result { get; set; } = new();

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        var evaluator = context.GetService<JavaScriptEvaluator>() ?? throw new InvalidOperationException("The JavaScript evaluator is not registered.");
        var outcomes = new List<string>();
        var result = evaluator.Evaluate(context.Get(Script) ?? "", context.ExpressionContext, engine =>
        {
            engine.SetValue("setOutcome", new Action<string>(outcomes.Add));
            engine.SetValue("setOutcomes", new Action<JsValue>(values =>
            {
                if (values is JsArray array) outcomes.AddRange(array.Select(v => v.ToString()));
            }));
        }, context.CancellationToken);
        context.Set(Result, ValueConverter.ToPlain(result));
        return context.CompleteActivityAsync([.. outcomes.Distinct()]);
    }
}
