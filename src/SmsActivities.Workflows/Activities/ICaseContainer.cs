using System.Text.Json.Nodes;

namespace SmsActivities.Workflows.Activities;

/// <summary>
/// An activity that keeps child activities in a list of cases under one input (Elsa's SendHttpRequest status-code cases)
/// instead of plain child slots: the definition reader hands it the cases to build, and the workflow indexes their activities.
/// </summary>
public interface ICaseContainer
{
    /// <summary>The name of the input holding the cases (not read as a plain input).</summary>
    string CasesInput { get; }
    IEnumerable<Activity> CaseActivities { get; }
    /// <param name="build">Builds one activity node; null when it is invalid (its problems are in <paramref name="errors"/>).</param>
    void ReadCases(JsonArray cases, Func<JsonObject, Activity?> build, List<string> errors);
    /// <summary>The cases as Elsa JSON, each activity written by <paramref name="write"/> (for definitions built in code).</summary>
    JsonArray WriteCases(Func<Activity, JsonNode?> write);
}
