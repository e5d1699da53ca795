using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Acornima.Ast;
using Jint;
using Jint.Native;
using Jint.Native.Json;
using Jint.Runtime;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Workflows.Expressions;

/// <summary>
/// JavaScript expressions on Jint (ES2023), with Elsa 3's script surface (<see cref="ScriptSurface"/>): a top-level
/// <c>return</c> is allowed, and the value of the last statement is the result otherwise. Values cross between the
/// workflow's JSON state and the script as plain JavaScript objects and arrays (parsed from and serialized to JSON).
/// </summary>
public sealed class JavaScriptEvaluator(IOptions<ScriptOptions> options)
{
    private readonly ScriptOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, Prepared<Script>> _parsed = new(StringComparer.Ordinal);

    private static readonly ScriptPreparationOptions Preparation = new() { ParsingOptions = new ScriptParsingOptions { AllowReturnOutsideFunction = true } };

    /// <param name="configure">Defines extra names for this evaluation (e.g. RunJavaScript's <c>setOutcome</c>).</param>
    public JsonNode? Evaluate(string script, ExpressionContext context, Action<Engine>? configure = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(script)) return null;
        var prepared = Prepare(script);
        var engine = new Engine(o => o
            .TimeoutInterval(_options.Timeout)
            .MaxStatements(_options.MaxStatements)
            .LimitMemory(_options.MaxMemoryBytes)
            .LimitRecursion(_options.MaxRecursionDepth)
            .CancellationToken(cancellationToken));
        var variables = new ScriptVariables(engine, context);
        Define(engine, context, variables);
        configure?.Invoke(engine);
        JsValue result;
        try
        {
            result = engine.Evaluate(prepared).UnwrapIfPromise(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw Describe(e);
        }
        variables.CopyBack();
        return ToNode(engine, result);
    }

    private Prepared<Script> Prepare(string script)
    {
        if (_parsed.TryGetValue(script, out var prepared)) return prepared;
        try
        {
            prepared = Engine.PrepareScript(script, options: Preparation);
        }
        catch (Exception e)
        {
            throw Describe(e);
        }
        if (_parsed.Count >= _options.ParsedScriptCacheSize) _parsed.Clear();
        return _parsed[script] = prepared;
    }

    private static ScriptException Describe(Exception e)
    {
        if (e is ScriptPreparationException { InnerException: Acornima.ParseErrorException inner }) e = inner;
        int? line = JintException.TryGetJavaScriptLocation(e, out var location) ? location.Start.Line : null;
        if (line is null && e is Acornima.ParseErrorException parse) line = parse.LineNumber;
        var what = e switch
        {
            Acornima.ParseErrorException p => $"syntax error: {p.Description}",
            JavaScriptException js => $"uncaught {js.Message}",
            StatementsCountOverflowException => "it ran more statements than allowed (an endless loop?)",
            TimeoutException => "it ran longer than allowed",
            MemoryLimitExceededException => "it allocated more memory than allowed",
            RecursionDepthOverflowException => "it recursed deeper than allowed",
            _ => e.Message,
        };
        return new ScriptException(line is { } l ? $"JavaScript failed at line {l}: {what}" : $"JavaScript failed: {what}", line, e);
    }

    private static void Define(Engine engine, ExpressionContext context, ScriptVariables variables)
    {
        engine.SetValue("getWorkflowDefinitionId", new Func<string>(() => context.WorkflowDefinitionId));
        engine.SetValue("getWorkflowDefinitionVersionId", new Func<string>(() => context.WorkflowDefinitionVersionId));
        engine.SetValue("getWorkflowDefinitionVersion", new Func<int>(() => context.WorkflowDefinitionVersion));
        engine.SetValue("getWorkflowInstanceId", new Func<string>(() => context.WorkflowInstanceId));
        engine.SetValue("getCorrelationId", new Func<string?>(() => context.CorrelationId));
        engine.SetValue("setCorrelationId", new Action<string?>(context.SetCorrelationId));
        engine.SetValue("getVariable", new Func<string, JsValue>(name => ToJs(engine, context.GetVariable(name))));
        engine.SetValue("setVariable", new Action<string, JsValue>(variables.Set));
        engine.SetValue("getInput", new Func<string, JsValue>(name => ToJs(engine, context.GetWorkflowInput(name))));
        engine.SetValue("getOutputFrom", new Func<string, string?, JsValue>((activity, output) => ToJs(engine, context.GetOutput(activity, output))));
        engine.SetValue("getLastResult", new Func<JsValue>(() => ToJs(engine, context.LastResult)));
        engine.SetValue("isNullOrWhiteSpace", new Func<string?, bool>(string.IsNullOrWhiteSpace));
        engine.SetValue("isNullOrEmpty", new Func<string?, bool>(string.IsNullOrEmpty));
        engine.SetValue("toJson", new Func<JsValue, string>(value => ToNode(engine, value)?.ToJsonString(WorkflowJson.Options) ?? "null"));
        engine.SetValue("parseGuid", new Func<string, string>(value => Guid.Parse(value).ToString()));
        engine.SetValue("newGuid", new Func<string>(NewGuid));
        engine.SetValue("newGuidString", new Func<string>(NewGuid));
        engine.SetValue("getGuidString", new Func<string>(NewGuid));
        engine.SetValue("newShortGuid", new Func<string>(NewShortGuid));
        engine.SetValue("getShortGuid", new Func<string>(NewShortGuid));
        engine.SetValue("stringToBase64", new Func<string, string>(value => Convert.ToBase64String(Encoding.UTF8.GetBytes(value))));
        engine.SetValue("stringFromBase64", new Func<string, string>(value => Encoding.UTF8.GetString(Convert.FromBase64String(value))));
        engine.SetValue("input", ToJs(engine, ToObject(context.WorkflowInput)));
        engine.SetValue("workflowInstanceId", context.WorkflowInstanceId);
        engine.SetValue("correlationId", context.CorrelationId is { } id ? id : JsValue.Null);

        // Per-name accessors, in Elsa's order: variables, then workflow inputs, then activity outputs.
        foreach (var name in variables.Names)
        {
            var pascal = ScriptSurface.Pascalize(name);
            engine.SetValue("get" + pascal, new Func<JsValue>(() => ToJs(engine, context.GetVariable(name))));
            engine.SetValue("set" + pascal, new Action<JsValue>(value => variables.Set(name, value)));
        }
        foreach (var name in context.WorkflowInput.Keys.Where(ScriptSurface.IsValidName))
            engine.SetValue("get" + name, new Func<JsValue>(() => ToJs(engine, context.GetWorkflowInput(name))));
        foreach (var activity in context.ActivityOutputs)
        {
            if (activity.ActivityName is not { } activityName || !ScriptSurface.IsValidName(activityName)) continue;
            foreach (var output in activity.OutputNames.Where(ScriptSurface.IsValidName))
                engine.SetValue($"get{output}From{activityName}", new Func<JsValue>(() => ToJs(engine, context.GetOutput(activity.ActivityId, output))));
        }
    }

    private static string NewGuid() => Guid.NewGuid().ToString();

    private static string NewShortGuid() =>
        Convert.ToBase64String(Guid.NewGuid().ToByteArray()).Replace("/", "").Replace("+", "").Replace("=", "");

    private static JsonObject ToObject(IReadOnlyDictionary<string, JsonNode?> values)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in values) obj[key] = value?.DeepClone();
        return obj;
    }

    internal static JsValue ToJs(Engine engine, JsonNode? node) =>
        node is null ? JsValue.Null : new JsonParser(engine).Parse(node.ToJsonString(WorkflowJson.Options));

    internal static JsonNode? ToNode(Engine engine, JsValue value)
    {
        if (value.IsNull() || value.IsUndefined()) return null;
        if (value.IsString()) return JsonValue.Create(value.AsString());
        if (value.IsBoolean()) return JsonValue.Create(value.AsBoolean());
        if (value.IsNumber())
        {
            var number = value.AsNumber();
            return double.IsInteger(number) && Math.Abs(number) < 9e15 ? JsonValue.Create((long)number) : JsonValue.Create(number);
        }
        var json = new JsonSerializer(engine).Serialize(value);
        return json.IsString() ? JsonNode.Parse(json.AsString()) : null;
    }

    /// <summary>
    /// The <c>variables</c> object: assigning one of its properties sets the workflow variable (checked after the
    /// script ran, as Elsa does); <c>setVariable</c> and <c>set&lt;Name&gt;</c> keep it in step.
    /// </summary>
    private sealed class ScriptVariables
    {
        private readonly Engine _engine;
        private readonly ExpressionContext _context;
        private readonly JsValue _object;
        private readonly Dictionary<string, string?> _before = new(StringComparer.Ordinal);

        public ScriptVariables(Engine engine, ExpressionContext context)
        {
            _engine = engine;
            _context = context;
            Names = context.VariableNames.Where(ScriptSurface.IsValidName).Distinct().ToList();
            var values = new JsonObject();
            foreach (var name in Names)
            {
                var value = context.GetVariable(name);
                values[name] = value;
                _before[name] = value?.ToJsonString();
            }
            _object = ToJs(engine, values);
            engine.SetValue("variables", _object);
        }

        public IReadOnlyList<string> Names { get; }

        public void Set(string name, JsValue value)
        {
            var node = ToNode(_engine, value);
            _context.SetVariable(name, node);
            if (_before.ContainsKey(name) || ScriptSurface.IsValidName(name))
            {
                _object.AsObject().Set(name, value);
                _before[name] = node?.ToJsonString();
            }
        }

        public void CopyBack()
        {
            var obj = _object.AsObject();
            foreach (var key in obj.GetOwnPropertyKeys())
            {
                if (!key.IsString()) continue;
                var name = key.AsString();
                var node = ToNode(_engine, obj.Get(name));
                var text = node?.ToJsonString();
                if (_before.TryGetValue(name, out var before) && before == text) continue;
                _context.SetVariable(name, node);
                _before[name] = text;
            }
        }
    }
}
