using System.Text.Json.Nodes;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Workflows.Execution;

/// <summary>
/// One run of one instance, from a start or a resume until the work queue drains: the scheduler,
/// the live activity contexts and what the run produced (journal, execution records, stimuli to
/// publish). A run is single-threaded; the runtime's lease guarantees one run per instance at a time.
/// </summary>
public sealed class WorkflowExecutionContext : ExpressionContext
{
    private readonly Queue<(Activity Activity, ActivityExecutionContext? Parent, JsonObject? Scope)> _queue = new();
    /// <summary>Key of <see cref="ActivityExecutionContextState.Properties"/> holding the variables a container declared for one child.</summary>
    private const string ScopeKey = "@scope";
    /// <summary>The activity execution whose code (or input evaluation) is running: its scoped variables shadow the workflow's.</summary>
    private ActivityExecutionContext? _current;
    private readonly Dictionary<string, ActivityExecutionContext> _live = new(StringComparer.Ordinal);
    private bool _rootCompleted;
    private bool _halted;
    private Exception? _startFault;
    /// <summary>The activity executions that journaled "Suspended" since they last started or resumed in this run.</summary>
    private readonly HashSet<string> _suspendedJournaled = new(StringComparer.Ordinal);

    internal WorkflowExecutionContext(Workflow workflow, WorkflowState state, IServiceProvider services, TimeProvider time,
        ExpressionEvaluator evaluator, CancellationToken cancellationToken, ResumeBatch? batch = null)
    {
        Workflow = workflow;
        Batch = batch;
        State = state;
        Services = services;
        Time = time;
        Evaluator = evaluator;
        CancellationToken = cancellationToken;
        foreach (var saved in state.ActivityExecutionContexts) Restore(saved);
    }

    public Workflow Workflow { get; }
    public WorkflowState State { get; }
    public IServiceProvider Services { get; }
    public TimeProvider Time { get; }
    internal ExpressionEvaluator Evaluator { get; }
    public CancellationToken CancellationToken { get; }
    /// <summary>The dispatcher batch this run resumes with others; null for a run on its own (a start, an inline resume, a retry).</summary>
    public ResumeBatch? Batch { get; }
    internal string? TriggerActivityId { get; set; }
    internal JsonObject? TriggerInput { get; set; }
    internal List<WorkflowExecutionLogRecord> NewJournal { get; } = [];
    internal Dictionary<string, ActivityExecutionRecord> ExecutionRecords { get; } = new(StringComparer.Ordinal);
    /// <summary>Stimuli the run published: recorded, with the deliveries they are owed, in the run's commit.</summary>
    internal List<Stimulus> Outbox { get; } = [];
    /// <summary>Children to start after the run: their start deliveries are written in the run's commit.</summary>
    internal List<ChildDispatch> Dispatches { get; } = [];
    /// <summary>
    /// This run is a child's first, started inline by its parent's activity, which reads the result directly: no
    /// completion stimulus for it.
    /// </summary>
    internal bool ParentReadsFirstRun { get; set; }
    /// <summary>Writes handed to the run's commit (<see cref="IRunCommitWrite"/>) and not written alone since.</summary>
    internal List<IRunCommitWrite> CommitWrites { get; } = [];
    /// <summary>What <see cref="MarkSecret"/> collected; the runtime blanks these out of everything it stores at commit.</summary>
    internal HashSet<string> Secrets { get; } = new(StringComparer.Ordinal);

    /// <summary>See <see cref="ActivityExecutionContext.MarkSecret"/>.</summary>
    public void MarkSecret(string? value)
    {
        if (!string.IsNullOrEmpty(value)) Secrets.Add(value);
    }

    public override string WorkflowInstanceId => State.Id;
    public override string? CorrelationId => State.CorrelationId;

    internal string NewId() => Guid.CreateVersion7().ToString("N");

    // ---- running ----

    internal void Start(Activity root) => Schedule(root, null);

    /// <summary>Starts with the root faulting at once: a start that cannot be made as asked still leaves an instance that says why.</summary>
    internal void StartFaulted(Activity root, Exception reason)
    {
        _startFault = reason;
        Start(root);
    }

    /// <summary>A child whose parent waits tells it, once it finishes in a later run (see <see cref="ChildWorkflows"/>).</summary>
    private void NotifyParentIfFinished()
    {
        if (!ParentReadsFirstRun && ChildWorkflows.CompletionOf(State) is { } completion) Outbox.Add(completion);
    }

    /// <summary>
    /// Writes alone, in order, what activities handed to the commit: before the run goes on to anything that could read
    /// what they write, and when the run ends without a commit of the runtime's.
    /// </summary>
    internal async Task WriteCommitWritesAloneAsync()
    {
        while (CommitWrites.Count > 0)
        {
            var write = CommitWrites[0];
            await write.WriteAloneAsync(CancellationToken);
            CommitWrites.RemoveAt(0);
        }
    }

    internal async Task ResumeAsync(Bookmark bookmark, JsonObject? input)
    {
        await WriteCommitWritesAloneAsync();
        if (!_live.TryGetValue(bookmark.ActivityInstanceId, out var context))
            throw new InvalidOperationException($"Bookmark {bookmark.Id} points at activity instance {bookmark.ActivityInstanceId}, which is not running.");
        if (bookmark.AutoBurn) State.Bookmarks.RemoveAll(b => b.Id == bookmark.Id);
        Journal(context, "Resumed", null, bookmark.Payload);
        _suspendedJournaled.Remove(context.Id); // bookmarks made by this resumption suspend it anew
        context.ResumeInput = input;
        context.ResumedBookmark = bookmark;
        await GuardAsync(context, () => context.InvokeCallbackAsync(bookmark.CallbackMethodName));
        context.ResumeInput = null;
        context.ResumedBookmark = null;
        await AutoCompleteIfIdleAsync(context);
    }

    internal async Task RunAsync()
    {
        State.Status = WorkflowStatus.Running;
        // A resume callback that faulted has already halted the run: its Faulted must survive, or the instance would be
        // left Suspended without the bookmark it burned.
        if (State.SubStatus != WorkflowSubStatus.Faulted) State.SubStatus = WorkflowSubStatus.Executing;
        while (!_halted && _queue.TryDequeue(out var item))
        {
            CancellationToken.ThrowIfCancellationRequested();
            await WriteCommitWritesAloneAsync();
            await ExecuteAsync(item.Activity, item.Parent, item.Scope);
        }
        var now = Time.GetUtcNow();
        State.UpdatedAt = now;
        if (State.SubStatus is WorkflowSubStatus.Faulted or WorkflowSubStatus.Cancelled || _rootCompleted)
        {
            if (State.SubStatus == WorkflowSubStatus.Executing) State.SubStatus = WorkflowSubStatus.Finished;
            State.Status = WorkflowStatus.Finished;
            State.FinishedAt = now;
            State.Bookmarks.Clear();
            _live.Clear();
            NotifyParentIfFinished();
        }
        else
        {
            State.SubStatus = WorkflowSubStatus.Suspended;
        }
        State.ActivityExecutionContexts = _live.Values.Select(c => c.State).ToList();
    }

    internal void Cancel()
    {
        foreach (var context in _live.Values.Where(c => c.Parent is null).ToList()) CancelContext(context);
        State.SubStatus = WorkflowSubStatus.Cancelled;
        State.Status = WorkflowStatus.Finished;
        State.FinishedAt = State.UpdatedAt = Time.GetUtcNow();
        State.Bookmarks.Clear();
        State.ActivityExecutionContexts = [];
        NotifyParentIfFinished();
    }

    /// <summary>
    /// Schedules an activity from outside its container's own logic (an alteration): under the live execution of its
    /// container, which then carries on from it as from any child (a Flowchart follows its connections); with no live
    /// container, on its own.
    /// </summary>
    internal void ScheduleInContainer(Activity activity)
    {
        var container = activity.Parent is null ? null : _live.Values.LastOrDefault(c => ReferenceEquals(c.Activity, activity.Parent));
        Schedule(activity, container);
    }

    /// <summary>The activity of a live (running or suspended) activity execution, by its id.</summary>
    internal Activity? LiveActivity(string activityInstanceId) => _live.GetValueOrDefault(activityInstanceId)?.Activity;

    /// <param name="scope">Variables visible only to this child and its descendants (Elsa's per-branch variables), by name.</param>
    internal void Schedule(Activity activity, ActivityExecutionContext? parent, JsonObject? scope = null)
    {
        if (parent != null) parent.PendingChildren++;
        _queue.Enqueue((activity, parent, scope));
    }

    private async Task ExecuteAsync(Activity activity, ActivityExecutionContext? parent, JsonObject? scope)
    {
        var state = new ActivityExecutionContextState
        {
            Id = NewId(), ParentContextId = parent?.Id, ActivityId = activity.Id, ActivityNodeId = activity.NodeId,
            ActivityType = activity.Type, Status = ActivityStatus.Running, StartedAt = Time.GetUtcNow(),
            ExecutionKey = NextCounter("executionSequence").ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (scope != null) state.Properties[ScopeKey] = scope;
        var context = new ActivityExecutionContext(this, activity, state, parent);
        if (TriggerActivityId == activity.Id && TriggerInput != null)
        {
            context.IsTrigger = true;
            TriggerActivityId = null; // only the first execution of the trigger consumes the stimulus
        }
        _live[state.Id] = context;
        var record = new ActivityExecutionRecord
        {
            Id = state.Id, WorkflowInstanceId = State.Id, ActivityId = activity.Id, ActivityNodeId = activity.NodeId,
            ActivityType = activity.Type, ActivityTypeVersion = activity.Version, ActivityName = activity.Name,
            StartedAt = state.StartedAt, Status = ActivityStatus.Running,
        };
        ExecutionRecords[state.Id] = record;
        // "Started" before the inputs are evaluated: an input that fails journals "Faulted", which must come after it.
        Journal(context, "Started", null, null);
        if (_startFault is { } fault)
        {
            Fault(context, fault);
            return;
        }
        var ok = await GuardAsync(context, () =>
        {
            record.ActivityState = EvaluateInputs(context);
            return ValueTask.CompletedTask;
        });
        if (!ok) return;
        // The trigger that started the run consumes its stimulus here; anything else marked asynchronous waits for the background run.
        if (activity.RunAsynchronously && !context.IsTrigger)
        {
            context.DeferToBackground();
            return;
        }
        await GuardAsync(context, () => activity.RunAsync(context));
        await AutoCompleteIfIdleAsync(context);
    }

    /// <summary>Evaluates every wrapped input up front (as Elsa does), for the execution record; sensitive values are masked there.</summary>
    private JsonObject EvaluateInputs(ActivityExecutionContext context)
    {
        var inputs = new JsonObject();
        foreach (var info in ActivityTypeInfo.Get(context.Activity.GetType()).Inputs.Where(i => i.IsWrapped))
        {
            if (info.Property.GetValue(context.Activity) is not Input input) continue;
            var value = context.Evaluate(input);
            if (info.IsSecret && value is string secret) MarkSecret(secret);
            inputs[info.Name] = info.IsSensitive ? "***" : ValueConverter.ToNode(value);
        }
        return inputs;
    }

    /// <summary>Runs activity code; an exception faults the activity and the workflow.</summary>
    private async ValueTask<bool> GuardAsync(ActivityExecutionContext context, Func<ValueTask> action)
    {
        var outer = _current;
        _current = context;
        try
        {
            await action();
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !CancellationToken.IsCancellationRequested)
        {
            Fault(context, e is System.Reflection.TargetInvocationException { InnerException: { } inner } ? inner : e);
            return false;
        }
        finally
        {
            _current = outer;
        }
    }

    private async Task AutoCompleteIfIdleAsync(ActivityExecutionContext context)
    {
        if (_halted || context.Status != ActivityStatus.Running || context.PendingChildren > 0) return;
        if (State.Bookmarks.Any(b => b.ActivityInstanceId == context.Id)) return;
        await CompleteAsync(context, ["Done"]);
    }

    internal async ValueTask CompleteAsync(ActivityExecutionContext context, IReadOnlyList<string> outcomes)
    {
        if (context.Status != ActivityStatus.Running) return;
        context.State.Status = ActivityStatus.Completed;
        context.Outcomes.AddRange(outcomes);
        State.Bookmarks.RemoveAll(b => b.ActivityInstanceId == context.Id);
        _live.Remove(context.Id);
        var record = RecordOf(context);
        record.Status = ActivityStatus.Completed;
        record.CompletedAt = Time.GetUtcNow();
        record.Outcomes = [.. outcomes];
        record.HasBookmarks = false;
        Journal(context, "Completed", null, new JsonObject { ["outcomes"] = new JsonArray(outcomes.Select(o => (JsonNode?)o).ToArray()) });
        var parent = context.Parent;
        if (parent is null) { _rootCompleted = true; return; }
        parent.PendingChildren--;
        if (parent.Status != ActivityStatus.Running) return;
        if (await GuardAsync(parent, () => parent.Activity.NotifyChildCompletedAsync(parent, context)))
            await AutoCompleteIfIdleAsync(parent);
    }

    /// <summary>The execution record of a context; for one restored from a previous run it is rebuilt (the store merges it with the saved one).</summary>
    private ActivityExecutionRecord RecordOf(ActivityExecutionContext context)
    {
        if (ExecutionRecords.TryGetValue(context.Id, out var record)) return record;
        return ExecutionRecords[context.Id] = new ActivityExecutionRecord
        {
            Id = context.Id, WorkflowInstanceId = State.Id, ActivityId = context.Activity.Id, ActivityNodeId = context.Activity.NodeId,
            ActivityType = context.Activity.Type, ActivityTypeVersion = context.Activity.Version, ActivityName = context.Activity.Name,
            StartedAt = context.State.StartedAt, Status = ActivityStatus.Running,
        };
    }

    internal async ValueTask FinishAsync(ActivityExecutionContext context)
    {
        await CompleteAsync(context, ["Done"]);
        foreach (var root in _live.Values.Where(c => c.Parent is null).ToList()) CancelContext(root);
        _queue.Clear();
        _rootCompleted = true;
        _halted = true;
    }

    internal void CancelChildren(ActivityExecutionContext parent, IReadOnlySet<Activity>? only = null)
    {
        foreach (var child in _live.Values.Where(c => c.Parent == parent && (only is null || only.Contains(c.Activity))).ToList())
            CancelContext(child);
        var keep = _queue.Where(i => i.Parent != parent || (only != null && !only.Contains(i.Activity))).ToList();
        parent.PendingChildren -= _queue.Count - keep.Count;
        _queue.Clear();
        foreach (var item in keep) _queue.Enqueue(item);
    }

    private void CancelContext(ActivityExecutionContext context)
    {
        CancelChildren(context);
        context.State.Status = ActivityStatus.Canceled;
        State.Bookmarks.RemoveAll(b => b.ActivityInstanceId == context.Id);
        _live.Remove(context.Id);
        if (context.Parent != null) context.Parent.PendingChildren--;
        var record = RecordOf(context);
        record.Status = ActivityStatus.Canceled;
        record.CompletedAt = Time.GetUtcNow();
        Journal(context, "Cancelled", null, null);
    }

    internal void Fault(ActivityExecutionContext context, Exception exception)
    {
        var now = Time.GetUtcNow();
        var error = ExceptionState.From(exception);
        context.State.Status = ActivityStatus.Faulted;
        var record = RecordOf(context);
        record.Status = ActivityStatus.Faulted;
        record.Exception = error;
        record.AggregateFaultCount++;
        record.CompletedAt = now;
        // The fault ends the workflow, so the containers it ran in (the root Flowchart, a Sequence) end faulted too,
        // as in Elsa; otherwise the viewer shows them still running.
        for (var ancestor = context.Parent; ancestor != null; ancestor = ancestor.Parent)
        {
            var ancestorRecord = RecordOf(ancestor);
            ancestor.State.Status = ActivityStatus.Faulted;
            ancestorRecord.Status = ActivityStatus.Faulted;
            ancestorRecord.AggregateFaultCount++;
            ancestorRecord.CompletedAt = now;
        }
        State.Incidents.Add(new WorkflowIncident(context.Activity.Id, context.Activity.NodeId, context.Activity.Type,
            $"{context.Activity}: {exception.Message}", error, now));
        State.Fault = error;
        State.SubStatus = WorkflowSubStatus.Faulted;
        Journal(context, "Faulted", exception.Message, null);
        _queue.Clear();
        _halted = true;
    }

    internal void AddBookmark(ActivityExecutionContext context, Bookmark bookmark)
    {
        State.Bookmarks.Add(bookmark);
        RecordOf(context).HasBookmarks = true;
        // As Elsa: one "Suspended" per activity execution that becomes suspended, not one per bookmark (a wait for
        // several messages plus a timeout makes several); the entry carries the first bookmark's payload.
        if (_suspendedJournaled.Add(context.Id)) Journal(context, "Suspended", null, bookmark.Payload);
    }

    internal void Journal(ActivityExecutionContext context, string eventName, string? message, JsonNode? payload)
    {
        var sequence = NextCounter("journalSequence");
        NewJournal.Add(new WorkflowExecutionLogRecord(
            NewId(), State.Id, context.Id, context.Parent?.Id, context.Activity.Id, context.Activity.Type, context.Activity.Version,
            context.Activity.Name, context.Activity.NodeId, Time.GetUtcNow(), sequence, eventName, message, null, null, payload));
    }

    /// <summary>A counter in the persisted state: a run that is not committed leaves it where the last commit did.</summary>
    private long NextCounter(string name)
    {
        var next = (State.Properties[name]?.GetValue<long>() ?? 0) + 1;
        State.Properties[name] = next;
        return next;
    }

    private void Restore(ActivityExecutionContextState saved)
    {
        var activity = Workflow.FindByNodeId(saved.ActivityNodeId)
                       ?? throw new InvalidOperationException($"Instance {State.Id}: activity node '{saved.ActivityNodeId}' is not in definition version {Workflow.DefinitionVersionId}.");
        var parent = saved.ParentContextId is { } pid ? _live.GetValueOrDefault(pid) : null;
        var context = new ActivityExecutionContext(this, activity, saved, parent);
        if (parent != null) parent.PendingChildren++;
        _live[saved.Id] = context;
    }

    // ---- outputs and variables ----

    internal void SetOutput<T>(ActivityExecutionContext context, Output<T>? output, T value)
    {
        var info = ActivityTypeInfo.Get(context.Activity.GetType()).Outputs
            .FirstOrDefault(o => ReferenceEquals(o.Property.GetValue(context.Activity), output));
        var node = ValueConverter.ToNode(value);
        if (info != null) SetNamedOutput(context, info.Name, node, null, info.IsSensitive);
        if (output?.VariableName is { } variable) SetVariable(variable, node);
    }

    /// <summary>Stores an output by name (for activities whose outputs are not properties, e.g. a workflow used as an activity).</summary>
    internal void SetNamedOutput(ActivityExecutionContext context, string name, JsonNode? node, string? boundVariable, bool isSensitive = false)
    {
        if (!State.ActivityOutputs.TryGetValue(context.Activity.Id, out var outputs))
            State.ActivityOutputs[context.Activity.Id] = outputs = [];
        outputs[name] = node?.DeepClone();
        if (name == "Result") State.Properties[LastResultKey] = node?.DeepClone();
        (RecordOf(context).Outputs ??= [])[name] = isSensitive ? "***" : node?.DeepClone();
        if (boundVariable != null) SetVariable(boundVariable, node?.DeepClone());
    }

    public override JsonNode? GetVariable(string name)
    {
        var resolved = Workflow.ResolveVariableName(name);
        if (ScopeOf(resolved) is { } scope) return scope[resolved]?.DeepClone();
        return State.Variables.TryGetValue(resolved, out var value) ? value?.DeepClone() : null;
    }

    public override void SetVariable(string name, object? value)
    {
        var resolved = Workflow.ResolveVariableName(name);
        if (ScopeOf(resolved) is { } scope) scope[resolved] = ValueConverter.ToNode(value);
        else State.Variables[resolved] = ValueConverter.ToNode(value);
    }

    /// <summary>The nearest scope, from the running activity up through its ancestors, that declares <paramref name="name"/>.</summary>
    private JsonObject? ScopeOf(string name)
    {
        for (var context = _current; context != null; context = context.Parent)
            if (context.Properties[ScopeKey] is JsonObject scope && scope.ContainsKey(name)) return scope;
        return null;
    }

    private IEnumerable<string> ScopedNames()
    {
        for (var context = _current; context != null; context = context.Parent)
            if (context.Properties[ScopeKey] is JsonObject scope)
                foreach (var (name, _) in scope) yield return name;
    }

    /// <summary>By exact name, else ignoring case (a workflow used as an activity gets its inputs under Studio's camel-cased names).</summary>
    public override JsonNode? GetWorkflowInput(string name)
    {
        if (State.Input.TryGetValue(name, out var value)) return value?.DeepClone();
        foreach (var (key, other) in State.Input)
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return other?.DeepClone();
        return null;
    }

    public override JsonNode? GetOutput(string activityIdOrName, string? outputName = null)
    {
        var id = Workflow.FindByIdOrName(activityIdOrName)?.Id ?? activityIdOrName;
        if (!State.ActivityOutputs.TryGetValue(id, out var outputs)) return null;
        var value = outputName is null ? outputs.FirstOrDefault().Value : outputs[outputName];
        return value?.DeepClone();
    }

    private const string LastResultKey = "lastResult";

    public override string WorkflowDefinitionId => Workflow.DefinitionId;
    public override string WorkflowDefinitionVersionId => Workflow.DefinitionVersionId;
    public override int WorkflowDefinitionVersion => Workflow.Version;
    public override IEnumerable<string> VariableNames =>
        Workflow.Variables.Select(v => v.Name).Concat(State.Variables.Keys).Concat(ScopedNames()).Distinct(StringComparer.Ordinal);
    public override JsonNode? LastResult => State.Properties[LastResultKey]?.DeepClone();
    public override void SetCorrelationId(string? correlationId) => State.CorrelationId = correlationId;

    public override IEnumerable<ActivityOutputs> ActivityOutputs =>
        State.ActivityOutputs.Select(p => new ActivityOutputs(p.Key, Workflow.FindByIdOrName(p.Key)?.Name, p.Value.Select(o => o.Key).ToList()));

    public override IReadOnlyDictionary<string, JsonNode?> Variables => State.Variables;
    public override IReadOnlyDictionary<string, JsonNode?> WorkflowInput => State.Input;
}
