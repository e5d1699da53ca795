using System.Text.Json.Nodes;

namespace SmsActivities.Workflows.Execution;

/// <summary>
/// The instances one dispatcher batch resumes side by side (<see cref="WorkflowExecutionContext.Batch"/>): what resumes
/// each of them, and a place where an activity's services keep one read for the whole batch instead of one per run.
/// Such a read is taken after the batch was claimed, as each run's own read would be; a run that writes what it covers
/// must not take it from here. What is kept is disposed when the batch's runs are done.
/// </summary>
public sealed class ResumeBatch : IAsyncDisposable
{
    private readonly Dictionary<Type, object> _shared = [];

    public ResumeBatch(IReadOnlyList<BatchResumption> resumptions) => Resumptions = resumptions;

    /// <summary>Every resumption of the batch, of every instance in it.</summary>
    public IReadOnlyList<BatchResumption> Resumptions { get; }

    /// <summary>The batch's one <typeparamref name="T"/>, made by <paramref name="create"/> the first time a run asks (runs ask side by side).</summary>
    public T Shared<T>(Func<ResumeBatch, T> create) where T : class
    {
        ArgumentNullException.ThrowIfNull(create);
        lock (_shared)
        {
            if (!_shared.TryGetValue(typeof(T), out var shared)) _shared[typeof(T)] = shared = create(this);
            return (T)shared;
        }
    }

    public async ValueTask DisposeAsync()
    {
        object[] shared;
        lock (_shared)
        {
            shared = [.. _shared.Values];
            _shared.Clear();
        }
        foreach (var item in shared)
        {
            if (item is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync();
            else if (item is IDisposable disposable) disposable.Dispose();
        }
    }
}

/// <summary>
/// One delivery of a <see cref="ResumeBatch"/>: the instance it resumes and the stimulus it carries (its name, its
/// payload, its input). The payload and input are parsed from the stored stimulus on first read, apart from the copy the
/// run resumes with, so reading them here never races with a run.
/// </summary>
public sealed class BatchResumption
{
    private readonly Lazy<JsonNode?> _payload;
    private readonly Lazy<JsonObject?> _input;

    public BatchResumption(string instanceId, string? stimulusName, string? payloadJson, string? inputJson)
    {
        InstanceId = instanceId;
        StimulusName = stimulusName;
        _payload = new(() => payloadJson is null ? null : JsonNode.Parse(payloadJson));
        _input = new(() => inputJson is null ? null : JsonNode.Parse(inputJson)?.AsObject());
    }

    public string InstanceId { get; }
    public string? StimulusName { get; }
    public JsonNode? Payload => _payload.Value;
    public JsonObject? Input => _input.Value;
}
