using System.Collections.Concurrent;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// Which instance an activity-execution record belongs to, for <c>GET /activity-executions/by-id?id=…</c>: Studio
/// asks for single records only after listing them, and the runtime's store finds records by instance. Bounded:
/// when full, it starts over (a forgotten id answers 404 until the viewer lists again).
/// </summary>
public sealed class ExecutionRecordIndex
{
    private const int Capacity = 100_000;
    private readonly ConcurrentDictionary<string, string> _instanceByRecord = new(StringComparer.Ordinal);

    public void Remember(IEnumerable<ActivityExecutionRecord> records)
    {
        if (_instanceByRecord.Count > Capacity) _instanceByRecord.Clear();
        foreach (var record in records) _instanceByRecord[record.Id] = record.WorkflowInstanceId;
    }

    public string? InstanceOf(string recordId) => _instanceByRecord.GetValueOrDefault(recordId);
}
