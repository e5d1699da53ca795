using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>An alteration plan with its jobs, as stored (Elsa's plan statuses Running/Completed, job statuses Pending/Running/Completed/Failed).</summary>
public sealed record AlterationPlan(string Id, JsonArray Alterations, JsonObject Filter, string Status, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt, IReadOnlyList<AlterationJob> Jobs);

public sealed record AlterationJob(string Id, string PlanId, string WorkflowInstanceId, string Status, IReadOnlyList<AlterationLogEntry> Log,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt);

/// <summary>
/// Alteration plans kept in the runtime's database: a plan and one job per selected instance are written together,
/// then the jobs run in order through <see cref="InstanceAlterer"/>. A job is marked completed in the transaction that
/// commits its alteration, so a job still "Running" after a crash was not applied and runs again; the node running a
/// plan holds a lease on it, and a plan whose lease expired (its node died) is taken over by the runtime's background
/// pass on any node.
/// </summary>
public sealed class AlterationPlans
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private readonly IDbContextFactory<WorkflowDbContext> _db;
    private readonly InstanceAlterer _alterer;
    private readonly TimeProvider _time;
    private readonly string _owner;
    private readonly ILogger<AlterationPlans> _logger;

    internal AlterationPlans(IDbContextFactory<WorkflowDbContext> db, InstanceAlterer alterer, InstanceOwnership ownership, TimeProvider time, ILogger<AlterationPlans> logger)
    {
        _db = db;
        _alterer = alterer;
        _time = time;
        _owner = ownership.Owner;
        _logger = logger;
    }

    /// <summary>
    /// Stores a plan for <paramref name="instanceIds"/> (the instances its filter selected), leased by this node, with
    /// its jobs pending. Returns false when a plan with <paramref name="planId"/> exists already.
    /// </summary>
    public async Task<bool> AddAsync(string planId, JsonArray alterations, JsonObject filter, IReadOnlyList<string> instanceIds, CancellationToken cancellationToken)
    {
        if (!AlterationJson.TryRead(alterations, out _, out var error)) throw new ArgumentException(error, nameof(alterations));
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        if (await db.AlterationPlans.AnyAsync(p => p.Id == planId, cancellationToken)) return false;
        var now = DbTime.ToDb(_time.GetUtcNow());
        db.AlterationPlans.Add(new AlterationPlanRow
        {
            Id = planId, AlterationsJson = alterations.ToJsonString(), FilterJson = filter.ToJsonString(), Status = "Running",
            CreatedAt = now, StartedAt = now, LeaseOwner = _owner, LeaseExpiresAt = now + (long)Lease.TotalMilliseconds,
        });
        for (var i = 0; i < instanceIds.Count; i++)
            db.AlterationJobs.Add(new AlterationJobRow
            {
                Id = Guid.CreateVersion7().ToString("N"), PlanId = planId, Sequence = i, WorkflowInstanceId = instanceIds[i], Status = "Pending", CreatedAt = now,
            });
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>Runs the plan's jobs not yet done, if this node holds or can take its lease; then marks it completed.</summary>
    public async Task RunAsync(string planId, CancellationToken cancellationToken)
    {
        if (!await TryLeaseAsync(planId, cancellationToken)) return;
        await using (var db = await _db.CreateDbContextAsync(cancellationToken))
        {
            var plan = await db.AlterationPlans.SingleAsync(p => p.Id == planId, cancellationToken);
            AlterationJson.TryRead(JsonNode.Parse(plan.AlterationsJson), out var alterations, out _);
            var jobs = await db.AlterationJobs.Where(j => j.PlanId == planId && (j.Status == "Pending" || j.Status == "Running"))
                .OrderBy(j => j.Sequence).ToListAsync(cancellationToken);
            foreach (var job in jobs)
            {
                if (!await TryLeaseAsync(planId, cancellationToken)) return; // another node took the plan over
                await RunJobAsync(db, job, alterations, cancellationToken);
            }
        }
        await using var done = await _db.CreateDbContextAsync(cancellationToken);
        var completedAt = DbTime.ToDb(_time.GetUtcNow());
        await done.AlterationPlans.Where(p => p.Id == planId && p.LeaseOwner == _owner).ExecuteUpdateAsync(s => s
            .SetProperty(p => p.Status, "Completed").SetProperty(p => p.CompletedAt, completedAt)
            .SetProperty(p => p.LeaseOwner, (string?)null).SetProperty(p => p.LeaseExpiresAt, (long?)null), cancellationToken);
    }

    private async Task RunJobAsync(WorkflowDbContext db, AlterationJobRow job, List<WorkflowAlteration> alterations, CancellationToken cancellationToken)
    {
        var log = new List<AlterationLogEntry>();
        if (job.Status == "Running")
        {
            // Its completion would have been committed with the alteration: it was not applied.
            log.Add(new AlterationLogEntry("Resumed: the server running this job stopped before the alteration was committed.", "Warning", _time.GetUtcNow()));
            _logger.LogWarning("Resuming alteration job {JobId} of plan {PlanId} on instance {InstanceId}.", job.Id, job.PlanId, job.WorkflowInstanceId);
        }
        job.Status = "Running";
        job.StartedAt ??= DbTime.ToDb(_time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);

        var jobId = job.Id;
        var result = await _alterer.ApplyAsync(job.WorkflowInstanceId, alterations, async (applied, tx, ct) =>
        {
            var json = JsonSerializer.Serialize(log.Concat(applied.Log), WorkflowJson.Options);
            var completedAt = DbTime.ToDb(_time.GetUtcNow());
            await tx.AlterationJobs.Where(j => j.Id == jobId).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, "Completed").SetProperty(j => j.LogJson, json).SetProperty(j => j.CompletedAt, completedAt), ct);
        }, cancellationToken);
        if (result.IsSuccessful)
        {
            db.Entry(job).State = EntityState.Detached;
            return;
        }
        job.Status = "Failed";
        job.LogJson = JsonSerializer.Serialize(log.Concat(result.Log), WorkflowJson.Options);
        job.CompletedAt = DbTime.ToDb(_time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Takes or renews the plan's lease: true when this node may run it now.</summary>
    private async Task<bool> TryLeaseAsync(string planId, CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var now = DbTime.ToDb(_time.GetUtcNow());
        var until = now + (long)Lease.TotalMilliseconds;
        var owner = _owner;
        return await db.AlterationPlans
            .Where(p => p.Id == planId && p.Status != "Completed" && (p.LeaseOwner == owner || p.LeaseExpiresAt == null || p.LeaseExpiresAt < now))
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.LeaseOwner, owner).SetProperty(p => p.LeaseExpiresAt, until), cancellationToken) == 1;
    }

    /// <summary>Runs the plans whose node stopped before finishing them (their lease expired). Returns how many were taken over.</summary>
    internal async Task<int> ResumeAbandonedAsync(CancellationToken cancellationToken)
    {
        List<string> abandoned;
        await using (var db = await _db.CreateDbContextAsync(cancellationToken))
        {
            var now = DbTime.ToDb(_time.GetUtcNow());
            abandoned = await db.AlterationPlans.Where(p => p.Status != "Completed" && (p.LeaseExpiresAt == null || p.LeaseExpiresAt < now))
                .OrderBy(p => p.CreatedAt).Select(p => p.Id).ToListAsync(cancellationToken);
        }
        foreach (var planId in abandoned)
        {
            _logger.LogWarning("Resuming alteration plan {PlanId}, left unfinished by a node that stopped.", planId);
            await RunAsync(planId, cancellationToken);
        }
        return abandoned.Count;
    }

    public async Task<AlterationPlan?> FindAsync(string planId, CancellationToken cancellationToken)
    {
        await using var db = await _db.CreateDbContextAsync(cancellationToken);
        var plan = await db.AlterationPlans.AsNoTracking().FirstOrDefaultAsync(p => p.Id == planId, cancellationToken);
        if (plan is null) return null;
        var jobs = await db.AlterationJobs.AsNoTracking().Where(j => j.PlanId == planId).OrderBy(j => j.Sequence).ToListAsync(cancellationToken);
        return new AlterationPlan(plan.Id, JsonNode.Parse(plan.AlterationsJson)!.AsArray(), JsonNode.Parse(plan.FilterJson)!.AsObject(), plan.Status,
            DbTime.FromDb(plan.CreatedAt), DbTime.FromDb(plan.StartedAt), DbTime.FromDb(plan.CompletedAt),
            jobs.Select(j => new AlterationJob(j.Id, j.PlanId, j.WorkflowInstanceId, j.Status,
                j.LogJson is { } log ? JsonSerializer.Deserialize<List<AlterationLogEntry>>(log, WorkflowJson.Options)! : [],
                DbTime.FromDb(j.CreatedAt), DbTime.FromDb(j.StartedAt), DbTime.FromDb(j.CompletedAt))).ToList());
    }
}
