using System.Data.Common;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Metrics and traces of the runtime: a span per start and per resume (a resume made by a webhook is a child of the
/// webhook's span, so one trace shows push → resume), runs by kind and outcome, and the backlog of owed deliveries.
/// </summary>
public sealed class WorkflowTelemetry : IDisposable
{
    public const string Name = "SmsActivities.Workflows";

    public static readonly ActivitySource Source = new(Name);

    private readonly Meter _meter;
    private readonly IDbContextFactory<WorkflowDbContext> _db;

    internal WorkflowTelemetry(IMeterFactory meterFactory, IDbContextFactory<WorkflowDbContext> db)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _db = db;
        _meter = meterFactory.Create(Name);
        Runs = _meter.CreateCounter<long>("workflow.runs", "{run}", "Starts and resumes that ran and committed, by kind (start, resume) and the instance's sub-status after");
        UnmatchedDropped = _meter.CreateCounter<long>("workflow.inbox.unmatched_dropped", "{stimulus}",
            "Unmatched stimuli (kept with a short retention) dropped, oldest first, to keep them under Workflows:Runtime:MaxUnmatchedStimuli");
        _meter.CreateObservableGauge("workflow.deliveries.pending", CountPending, "{delivery}",
            "Starts and resumes owed to received stimuli and not yet committed: the backlog (includes those waiting for a busy instance or a retry)");
    }

    public Counter<long> Runs { get; }

    public Counter<long> UnmatchedDropped { get; }

    /// <param name="parent">The trace the run belongs to when it is not the current one (a dispatched delivery's push).</param>
    internal static Activity? StartRun(string kind, string definitionId, string? instanceId, ActivityContext parent = default)
    {
        var span = Source.StartActivity("workflow." + kind, ActivityKind.Internal, parent);
        span?.SetTag("workflow.definition_id", definitionId);
        span?.SetTag("workflow.instance_id", instanceId);
        return span;
    }

    internal void RecordRun(Activity? span, string kind, string definitionId, WorkflowRunResult result)
    {
        span?.SetTag("workflow.instance_id", result.InstanceId);
        span?.SetTag("workflow.sub_status", result.SubStatus.ToString());
        if (result.SubStatus == Execution.WorkflowSubStatus.Faulted) span?.SetStatus(ActivityStatusCode.Error);
        Runs.Add(1, new("kind", kind), new("definition", definitionId), new("sub_status", result.SubStatus.ToString()));
    }

    /// <summary>Read when a collector asks (a scrape or an export), not on every change: one indexed COUNT.</summary>
    private IEnumerable<Measurement<long>> CountPending()
    {
        long count;
        try
        {
            using var db = _db.CreateDbContext();
            count = db.Deliveries.LongCount();
        }
        catch (Exception ex) when (ex is DbException or ObjectDisposedException or InvalidOperationException)
        {
            // The database is gone (shutting down) or busy past its timeout: this collection simply has no value.
            return [];
        }
        return [new Measurement<long>(count)];
    }

    public void Dispose() => _meter.Dispose();
}
