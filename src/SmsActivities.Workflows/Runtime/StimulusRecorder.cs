using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>A stimulus as recorded: a duplicate, or stored with the deliveries it is owed (none when it waits in the inbox or did nothing).</summary>
internal sealed record RecordedStimulus(bool Duplicate, string? StimulusId, IReadOnlyList<DeliveryRow> Deliveries)
{
    public static RecordedStimulus Repeat { get; } = new(true, null, []);
}

/// <summary>
/// Records a batch of stimuli in one transaction: one trigger query and one bookmark query for all their hashes, then
/// the stimulus rows and the deliveries they are owed. What is stored: a
/// stimulus that matched something (its deliveries point at it, and its dedupe key must then be remembered so a repeat
/// cannot run those workflows twice), one that must wait in the inbox, and one that asks to be remembered. A stimulus
/// that matched nothing and must not wait did nothing, so a repeat of it cannot double anything: it is not stored.
/// A stimulus with a dedupe key is inserted only if no other writer took the key meanwhile (<see cref="KeyedStimulusInserts"/>):
/// one that lost that race is a duplicate, and the deliveries it matched are not written.
/// </summary>
internal sealed class StimulusRecorder(IDbContextFactory<WorkflowDbContext> db, SqliteWriteGate writes, TimeProvider time, IOptions<WorkflowRuntimeOptions> options)
{
    /// <param name="dueAfter">
    /// When the deliveries fall due for the dispatcher: at once for accepted stimuli, after the lease wait when the caller
    /// runs them inline itself (the dispatcher then only picks up what a crash or a busy instance left).
    /// </param>
    /// <param name="tellUnstoredRepeats">
    /// Whether a keyed stimulus that matched nothing and is not stored is looked up by its key to tell a repeat (one
    /// query for all of them): a caller answering someone needs it (a repeated HTTP request whose first one resumed the
    /// bookmark, now gone, is answered as a repeat, not 404). The accept of vendor events does not (nothing of such a
    /// stimulus runs either way), and a batch of reports holds hundreds of them: five of a report's six stimuli.
    /// </param>
    /// <returns>One entry per stimulus, in order.</returns>
    public Task<IReadOnlyList<RecordedStimulus>> RecordAsync(IReadOnlyList<Stimulus> stimuli, TimeSpan dueAfter, bool tellUnstoredRepeats, CancellationToken cancellationToken) =>
        TransientRetry.RunAsync(_ => RecordOnceAsync(stimuli, dueAfter, tellUnstoredRepeats, cancellationToken), cancellationToken);

    private async Task<IReadOnlyList<RecordedStimulus>> RecordOnceAsync(IReadOnlyList<Stimulus> stimuli, TimeSpan dueAfter, bool tellUnstoredRepeats,
        CancellationToken cancellationToken)
    {
        await using var context = await db.CreateDbContextAsync(cancellationToken);
        // The hashes (SHA-256 of canonical JSON) are computed once and before the write turn: every other writer waits
        // while the transaction is open. A stimulus nothing listens to that would not be stored gets none: it matches nothing.
        var unheard = await UnheardAsync(context, stimuli, cancellationToken);
        var hashes = stimuli.Select((s, i) => unheard[i] ? null : s.Hash).ToArray();
        using var turn = await writes.EnterAsync(context, urgent: true, cancellationToken);
        await using var tx = await context.Database.BeginTransactionAsync(StimulusHashLocks.Isolation(context), cancellationToken);
        await StimulusHashLocks.LockAsync(context, [], stimuli.Select((s, i) => (s, hashes[i])).Where(x => x.s.KeepInInbox).Select(x => (x.Item2!, x.s.DedupeKey)), cancellationToken);
        var recorded = await StageAsync(context, stimuli, hashes, dueAfter, tellUnstoredRepeats, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return recorded;
    }

    /// <summary>
    /// Which stimuli no trigger and no bookmark could take, by name (one indexed look per name), among those that would
    /// not be stored when unmatched. A delivery report comes with four trigger variants (vendor and status, each or
    /// any) that most installations never listen to: they are then not hashed nor looked up by hash. Read before the
    /// write turn, as if those stimuli had come a moment earlier: a trigger or bookmark that appears in between would
    /// have missed them then too, and none of them waits in the inbox (those that may wait are always matched by hash,
    /// under the hash locks).
    /// </summary>
    private static async Task<bool[]> UnheardAsync(WorkflowDbContext context, IReadOnlyList<Stimulus> stimuli, CancellationToken cancellationToken)
    {
        var unheard = new bool[stimuli.Count];
        var names = new Dictionary<string, bool>(StringComparer.Ordinal);
        for (var i = 0; i < stimuli.Count; i++)
        {
            var stimulus = stimuli[i];
            if (stimulus.KeepInInbox || (stimulus.RememberWhenUnmatched && stimulus.DedupeKey != null)) continue;
            if (!names.TryGetValue(stimulus.Name, out var none))
            {
                var name = stimulus.Name;
                none = !await context.Triggers.AnyAsync(t => t.Name == name, cancellationToken)
                    && !await context.Bookmarks.AnyAsync(b => b.Name == name, cancellationToken);
                names[name] = none;
            }
            unheard[i] = none;
        }
        return unheard;
    }

    /// <summary>
    /// Writes the stimuli and the deliveries they are owed inside a transaction the caller opened on <paramref name="context"/>
    /// and commits, having taken the hash locks of the stimuli first (<see cref="StimulusHashLocks"/>). A
    /// run's commit stages what it published this way, so a stimulus is never lost between the commit and its sending.
    /// </summary>
    public Task<IReadOnlyList<RecordedStimulus>> StageAsync(WorkflowDbContext context, IReadOnlyList<Stimulus> stimuli, TimeSpan dueAfter,
        CancellationToken cancellationToken) =>
        StageAsync(context, stimuli, stimuli.Select(s => s.Hash).ToArray(), dueAfter, tellUnstoredRepeats: true, cancellationToken);

    /// <param name="hashes">Per stimulus, its hash, or null for one that nothing listens to and that is not stored unmatched.</param>
    private async Task<IReadOnlyList<RecordedStimulus>> StageAsync(WorkflowDbContext context, IReadOnlyList<Stimulus> stimuli, string?[] hashes, TimeSpan dueAfter,
        bool tellUnstoredRepeats, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var retryAfter = dueAfter;
        // No read of every key first: for a stimulus that is stored the keyed insert decides a repeat (it stores nothing
        // and owes nothing), and most are never stored (a report's trigger variants that match nothing); reading every
        // key first cost a batch of reports six lookups a report. Unstored ones are looked up after, if the caller asks.
        var wanted = hashes.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var startHashes = hashes.Where((h, i) => h is not null && stimuli[i].WorkflowInstanceId is null).Distinct(StringComparer.Ordinal).ToList();
        var triggers = (await context.Triggers.Where(t => startHashes.Contains(t.Hash))
                .Select(t => new { t.Hash, t.DefinitionVersionId, t.ActivityId }).ToListAsync(cancellationToken))
            .ToLookup(t => t.Hash, StringComparer.Ordinal);
        var bookmarks = (await context.Bookmarks.Where(b => wanted.Contains(b.Hash))
                .Select(b => new { b.Hash, b.Id, b.InstanceId, b.CorrelationId }).ToListAsync(cancellationToken))
            .ToLookup(b => b.Hash, StringComparer.Ordinal);

        var recorded = new List<RecordedStimulus>(stimuli.Count);
        var batchKeys = new HashSet<string>(StringComparer.Ordinal);
        var unstored = new List<(int Index, string Key)>();
        var plain = new List<StimulusRow>();
        var owed = new List<DeliveryRow>();
        var keyed = new List<(int Index, StimulusRow Row, List<DeliveryRow> Deliveries)>();
        for (var i = 0; i < stimuli.Count; i++)
        {
            var stimulus = stimuli[i];
            // A key earlier in this very batch makes it a duplicate (one stored before: the keyed insert below).
            if (stimulus.DedupeKey != null && !batchKeys.Add(stimulus.DedupeKey))
            {
                recorded.Add(RecordedStimulus.Repeat);
                continue;
            }
            var id = RuntimeRows.NewId();
            var deliveries = new List<DeliveryRow>();
            // An unheard stimulus (no hash) matches nothing and, by how it was chosen, is not stored: it only goes on
            // the list of unstored keys below.
            var hash = hashes[i];
            if (hash is not null && stimulus.WorkflowInstanceId is null)
                foreach (var trigger in triggers[hash])
                    deliveries.Add(RuntimeRows.NewDelivery(id, DeliveryKind.Start, now, retryAfter, definitionVersionId: trigger.DefinitionVersionId, triggerActivityId: trigger.ActivityId));
            // The first start owed to a named stimulus takes the stimulus's id, and so does the instance it starts: a repeat
            // that the dedupe key turns away can then tell which instance the first one started (an idempotent HTTP start).
            if (stimulus.DedupeKey != null && deliveries.Count > 0) deliveries[0].Id = id;
            foreach (var bookmark in hash is null ? [] : bookmarks[hash])
            {
                if (stimulus.CorrelationId != null && bookmark.CorrelationId != stimulus.CorrelationId) continue;
                if (stimulus.WorkflowInstanceId != null && bookmark.InstanceId != stimulus.WorkflowInstanceId) continue;
                deliveries.Add(RuntimeRows.NewDelivery(id, DeliveryKind.Resume, now, retryAfter, bookmark.Id, bookmark.InstanceId));
            }
            var stored = deliveries.Count > 0 || stimulus.KeepInInbox || (stimulus.RememberWhenUnmatched && stimulus.DedupeKey != null);
            if (!stored && stimulus.DedupeKey != null) unstored.Add((i, stimulus.DedupeKey));
            if (stored)
            {
                var row = new StimulusRow
                {
                    Id = id, Name = stimulus.Name, Hash = hash!, PayloadJson = stimulus.Payload?.ToJsonString(WorkflowJson.Options),
                    InputJson = stimulus.Input?.ToJsonString(WorkflowJson.Options), CorrelationId = stimulus.CorrelationId, DedupeKey = stimulus.DedupeKey,
                    // Only a stimulus that may wait stays Pending: a remembered one must never be claimed by a later bookmark.
                    Status = deliveries.Count == 0 && stimulus.KeepInInbox ? StimulusStatus.Pending : StimulusStatus.Consumed,
                    ReceivedAt = DbTime.ToDb(now), ExpiresAt = DbTime.ToDb(now + Retention(stimulus, deliveries.Count > 0)),
                    InstanceId = stimulus.DedupeKey != null ? SoleInstance(id, deliveries) : null,
                };
                if (stimulus.DedupeKey != null) keyed.Add((i, row, deliveries));
                else
                {
                    plain.Add(row);
                    owed.AddRange(deliveries);
                }
            }
            recorded.Add(new RecordedStimulus(false, id, deliveries));
        }
        if (tellUnstoredRepeats && unstored.Count > 0)
        {
            var keys = unstored.Select(u => u.Key).ToList();
            var seen = (await context.Stimuli.Where(s => keys.Contains(s.DedupeKey!)).Select(s => s.DedupeKey!).ToListAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
            foreach (var (index, key) in unstored)
                if (seen.Contains(key)) recorded[index] = RecordedStimulus.Repeat;
        }
        var inserted = await KeyedStimulusInserts.InsertNewAsync(context, keyed.Select(k => k.Row).ToList(), cancellationToken);
        foreach (var (index, row, deliveries) in keyed)
        {
            if (inserted.Contains(row.Id)) owed.AddRange(deliveries);
            else recorded[index] = RecordedStimulus.Repeat;
        }
        // Written at once, not through the context's change tracking: a batch of reports owes a delivery each.
        await RowStatements.InsertAsync(context, plain, KeyedStimulusInserts.Columns, KeyedStimulusInserts.Fields, cancellationToken);
        await RowStatements.InsertAsync(context, owed, DeliveryColumns,
            d => [d.Id, d.StimulusId, (int)d.Kind, d.BookmarkId, d.InstanceId, d.DefinitionVersionId, d.TriggerActivityId, d.CreatedAt, d.NextAttemptAt, d.Attempts],
            cancellationToken);
        return recorded;
    }

    private static readonly string[] DeliveryColumns =
    [
        nameof(DeliveryRow.Id), nameof(DeliveryRow.StimulusId), nameof(DeliveryRow.Kind), nameof(DeliveryRow.BookmarkId), nameof(DeliveryRow.InstanceId),
        nameof(DeliveryRow.DefinitionVersionId), nameof(DeliveryRow.TriggerActivityId), nameof(DeliveryRow.CreatedAt), nameof(DeliveryRow.NextAttemptAt),
        nameof(DeliveryRow.Attempts),
    ];

    /// <summary>The one instance a stimulus's deliveries start (it takes the delivery's id) or resume; null for none or several.</summary>
    private static string? SoleInstance(string stimulusId, List<DeliveryRow> deliveries)
    {
        var instances = deliveries.Select(d => d.Kind == DeliveryKind.Resume ? d.InstanceId : d.Id).Distinct(StringComparer.Ordinal).Take(2).ToList();
        return instances is [{ } only] && only != stimulusId ? only : null;
    }

    private TimeSpan Retention(Stimulus stimulus, bool matched)
    {
        var inbox = options.Value.InboxRetention;
        return !matched && stimulus.UnmatchedRetention is { } shorter && shorter < inbox ? shorter : inbox;
    }
}
