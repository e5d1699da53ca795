using System.Reflection;
using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Execution;

public delegate ValueTask ExecuteActivityDelegate(ActivityExecutionContext context);

/// <summary>One execution of one activity: how it reads inputs, writes outputs and variables, completes, waits and fails.</summary>
public sealed class ActivityExecutionContext
{
    internal const string TimeoutCallback = "@timeout";
    internal const string BackgroundCallback = "@background";
    public const string BackgroundBookmarkName = "Elsa.RunAsynchronously";
    public const string TimeoutOutcome = "Timeout";
    public const string TimeoutBookmarkName = "SmsActivities.Timeout";

    private readonly Dictionary<Input, object?> _evaluated = new(ReferenceEqualityComparer.Instance);

    internal ActivityExecutionContext(WorkflowExecutionContext workflow, Activity activity, ActivityExecutionContextState state, ActivityExecutionContext? parent)
    {
        WorkflowExecutionContext = workflow;
        Activity = activity;
        State = state;
        Parent = parent;
    }

    public WorkflowExecutionContext WorkflowExecutionContext { get; }
    public Activity Activity { get; }
    public ActivityExecutionContext? Parent { get; }
    internal ActivityExecutionContextState State { get; }
    internal int PendingChildren { get; set; }
    internal List<string> Outcomes { get; } = [];

    /// <summary>The activity instance id (journal <c>activityInstanceId</c>). Random: a re-run after a crash gets another one.</summary>
    public string Id => State.Id;

    /// <summary>
    /// Names this activity execution for idempotency with the outside world. Unique within the instance (every
    /// execution, including each loop iteration, takes the next number of a counter kept in the persisted workflow
    /// state) and identical when the same run is executed again from the same committed state: a crash or a failed
    /// commit leaves the counter where the last commit left it, the retried delivery replays the same steps in the
    /// same order, so the activity sees the same key and can find what it did the first time (e.g. a send record).
    /// An instance started by a stimulus takes the delivery's id, so even a crashed first run keeps its instance id.
    /// </summary>
    public string ExecutionKey => State.ExecutionKey ?? State.Id;
    public ActivityStatus Status => State.Status;
    /// <summary>Per-execution state that survives suspension (e.g. a loop index).</summary>
    public JsonObject Properties => State.Properties;
    public CancellationToken CancellationToken => WorkflowExecutionContext.CancellationToken;
    public DateTimeOffset Now => WorkflowExecutionContext.Time.GetUtcNow();
    public ExpressionContext ExpressionContext => WorkflowExecutionContext;
    public string WorkflowInstanceId => WorkflowExecutionContext.WorkflowInstanceId;

    /// <summary>The outcomes this execution completed with (read by containers in <c>OnChildCompletedAsync</c>).</summary>
    public IReadOnlyList<string> CompletedOutcomes => Outcomes;

    /// <summary>True when this activity is the trigger that started the instance: it should complete at once from <see cref="TriggerInput"/>.</summary>
    public bool IsTriggerOfWorkflow() => IsTrigger;

    internal bool IsTrigger { get; set; }

    /// <summary>The stimulus input that started the instance through this trigger.</summary>
    public JsonObject? TriggerInput => WorkflowExecutionContext.TriggerInput;
    /// <summary>While a bookmark callback runs: the stimulus input that resumed it.</summary>
    public JsonObject? ResumeInput { get; internal set; }
    /// <summary>While a bookmark callback runs: the bookmark being resumed.</summary>
    public Bookmark? ResumedBookmark { get; internal set; }

    public T? GetService<T>() where T : class => WorkflowExecutionContext.Services.GetService(typeof(T)) as T;

    // ---- inputs, outputs, variables ----

    public T? Get<T>(Input<T>? input) => input is null ? default : (T?)Evaluate(input);

    internal object? Evaluate(Input input)
    {
        if (!_evaluated.TryGetValue(input, out var value))
            _evaluated[input] = value = WorkflowExecutionContext.Evaluator.Evaluate(input, WorkflowExecutionContext);
        return value;
    }

    public void Set<T>(Output<T>? output, T value) => WorkflowExecutionContext.SetOutput(this, output, value);

    public T? GetVariable<T>(string name) => WorkflowExecutionContext.GetVariable<T>(name);
    public void SetVariable(string name, object? value) => WorkflowExecutionContext.SetVariable(name, value);

    public T? GetWorkflowInput<T>(string name) => WorkflowExecutionContext.GetWorkflowInput<T>(name);
    public void SetWorkflowOutput(string name, object? value) => WorkflowExecutionContext.State.Output[name] = ValueConverter.ToNode(value);

    public T? GetProperty<T>(string key) => ValueConverter.Convert<T>(Properties[key]);
    public void SetProperty(string key, object? value) => Properties[key] = ValueConverter.ToNode(value);

    /// <summary>
    /// Keeps <paramref name="value"/> (a one-time code the user typed, a token) out of everything this run stores: at
    /// commit, wherever a stored JSON string equals it (or, for a value of 6 or more characters, contains it) it is
    /// written as "******" (state, variables, activity outputs, bookmarks, journal, incidents, execution records, the
    /// workflow output and the stimulus input that resumed the run). In memory it stays real until the run ends, so
    /// the activities after this one still see it. Inputs declared <c>[Input(IsSecret = true)]</c> are marked for you.
    /// </summary>
    public void MarkSecret(string? value) => WorkflowExecutionContext.MarkSecret(value);

    /// <summary>Adds a line to the journal (event <c>Log</c>).</summary>
    public void Log(string message, object? payload = null) =>
        WorkflowExecutionContext.Journal(this, "Log", message, ValueConverter.ToNode(payload));

    // ---- control flow ----

    /// <summary>Completes with the given outcomes (none means <c>Done</c>).</summary>
    public ValueTask CompleteActivityAsync(params string[] outcomes) =>
        WorkflowExecutionContext.CompleteAsync(this, outcomes.Length == 0 ? ["Done"] : outcomes);

    /// <summary>Schedules a child activity; this container's <c>OnChildCompletedAsync</c> runs when it completes.</summary>
    public void ScheduleActivity(Activity child) => WorkflowExecutionContext.Schedule(child, this);

    /// <summary>
    /// Schedules a child that sees its own copy of <paramref name="variables"/> (by name): reads and writes of these names
    /// from the child and its descendants stay in that copy, which is kept with the child's state across waits. Elsa
    /// declares such variables per branch of a parallel loop.
    /// </summary>
    public void ScheduleActivity(Activity child, IReadOnlyDictionary<string, object?> variables) =>
        WorkflowExecutionContext.Schedule(child, this, new JsonObject(variables.Select(v => KeyValuePair.Create(v.Key, ValueConverter.ToNode(v.Value)))));

    /// <summary>Cancels every running child of this container (their bookmarks go with them).</summary>
    public void CancelChildren() => WorkflowExecutionContext.CancelChildren(this);

    /// <summary>Cancels running children whose activity is in <paramref name="activities"/>.</summary>
    public void CancelChildren(IReadOnlySet<Activity> activities) => WorkflowExecutionContext.CancelChildren(this, activities);

    /// <summary>Ends the whole workflow as Finished, cancelling whatever else is running.</summary>
    public ValueTask FinishWorkflowAsync() => WorkflowExecutionContext.FinishAsync(this);

    /// <summary>Faults the activity and the workflow with an incident (throwing from <c>ExecuteAsync</c> does the same).</summary>
    public void Fault(Exception exception) => WorkflowExecutionContext.Fault(this, exception);

    public void SetCorrelationId(string? correlationId) => WorkflowExecutionContext.State.CorrelationId = correlationId;

    /// <summary>
    /// Hands <paramref name="write"/> to the run's commit: it is written in the same transaction as the instance state
    /// when the run commits next, unless the run goes on to another activity or resumption first, or this activity
    /// calls <see cref="WriteCommitWritesAloneAsync"/>: it is then written alone before that. See <see cref="IRunCommitWrite"/>.
    /// </summary>
    public void WriteWithRunCommit(IRunCommitWrite write) => WorkflowExecutionContext.CommitWrites.Add(write);

    /// <summary>Writes now what was handed to the run's commit (this activity is about to write or read what they touch).</summary>
    public Task WriteCommitWritesAloneAsync() => WorkflowExecutionContext.WriteCommitWritesAloneAsync();

    /// <summary>Sends a stimulus once this run is committed (so it can even reach this instance).</summary>
    public void PublishStimulus(Stimulus stimulus) => WorkflowExecutionContext.Outbox.Add(stimulus);

    // ---- bookmarks ----

    /// <summary>
    /// Suspends this activity until a stimulus with the same activity type (or <paramref name="name"/>)
    /// and payload arrives, or until <paramref name="dueAt"/>. <paramref name="callback"/> must be a method
    /// of this activity: its name is persisted and looked up again on resume. Without a callback the
    /// activity completes with <c>Done</c> on resume.
    /// </summary>
    /// <param name="autoBurn">
    /// False keeps the bookmark after a resumption, until the activity completes: one bookmark that many stimuli resume
    /// (a wait on a whole campaign's reports) costs no bookmark rewrite per resumption.
    /// </param>
    public Bookmark CreateBookmark(object? payload, ExecuteActivityDelegate? callback = null, DateTimeOffset? dueAt = null, string? name = null, bool autoBurn = true)
    {
        if (callback != null && callback.Target != Activity)
            throw new ArgumentException("A bookmark callback must be an instance method of the activity itself.", nameof(callback));
        return AddBookmark(payload, callback?.Method.Name, dueAt, name, autoBurn);
    }

    /// <summary>A bookmark plus the optional timeout timer of <see cref="CreateTimeout"/>.</summary>
    public Bookmark WaitFor(object? payload, ExecuteActivityDelegate callback, TimeSpan? timeout, string? name = null)
    {
        var bookmark = CreateBookmark(payload, callback, name: name);
        CreateTimeout(timeout);
        return bookmark;
    }

    /// <summary>
    /// The reusable timeout: when <paramref name="timeout"/> has a value, a timer is set beside this
    /// activity's other bookmarks; if it falls due first the activity completes with <c>Timeout</c>
    /// (and its other bookmarks are removed), otherwise completing the activity removes the timer.
    /// </summary>
    public Bookmark? CreateTimeout(TimeSpan? timeout)
    {
        if (timeout is not { } span) return null;
        var dueAt = Now + span;
        return AddBookmark(new JsonObject { ["activityInstanceId"] = Id, ["dueAt"] = dueAt }, TimeoutCallback, dueAt, TimeoutBookmarkName);
    }

    /// <summary>A timer due now whose resumption executes the activity itself: the background run of <see cref="Activity.RunAsynchronously"/>.</summary>
    internal Bookmark DeferToBackground() =>
        AddBookmark(new JsonObject { ["activityInstanceId"] = Id }, BackgroundCallback, Now, BackgroundBookmarkName);

    private Bookmark AddBookmark(object? payload, string? callbackName, DateTimeOffset? dueAt, string? name, bool autoBurn = true)
    {
        var bookmarkName = name ?? Activity.Type;
        var payloadNode = ValueConverter.ToNode(payload);
        var bookmark = new Bookmark(
            WorkflowExecutionContext.NewId(), bookmarkName, BookmarkHasher.Hash(bookmarkName, payloadNode), payloadNode,
            Activity.Id, Activity.NodeId, Id, Now, dueAt, callbackName, autoBurn);
        WorkflowExecutionContext.AddBookmark(this, bookmark);
        return bookmark;
    }

    /// <summary>Bookmark callbacks by activity type and method name, looked up once: every resume of a wait calls one.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(Type Type, string Name), MethodInfo?> Callbacks = new();

    internal async ValueTask InvokeCallbackAsync(string? methodName)
    {
        if (methodName == TimeoutCallback) { await WorkflowExecutionContext.CompleteAsync(this, [TimeoutOutcome]); return; }
        if (methodName == BackgroundCallback) { await Activity.RunAsync(this); return; }
        if (methodName is null) { await CompleteActivityAsync(); return; }
        var method = Callbacks.GetOrAdd((Activity.GetType(), methodName), static key =>
                         key.Type.GetMethod(key.Name, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, [typeof(ActivityExecutionContext)]))
                     ?? throw new InvalidOperationException($"{Activity}: bookmark callback '{methodName}' no longer exists.");
        var result = method.Invoke(Activity, [this]);
        if (result is ValueTask valueTask) await valueTask;
        else if (result is Task task) await task;
    }
}
