using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Activities;

/// <summary>
/// One execution of a sending activity (SendSms or one of its time zone groups, SendVoiceOtp, SendEmail) under its
/// idempotency key, held to the run-once protocol, so a workflow run again after a crash never messages anyone twice:
/// <list type="number">
/// <item><b>find</b> (<see cref="FindAsync"/>): what an earlier execution under the key left, and who has opted out, in one read;</item>
/// <item><b>replay</b>: an execution that completed left its outputs (<see cref="Completed"/>): they are the answer, no vendor is called;</item>
/// <item><b>in doubt</b>: one that began but never completed (<see cref="Interrupted"/>) died inside a vendor call: its
/// recipients still Pending are marked in doubt and never sent again;</item>
/// <item><b>begin</b>: otherwise one record per recipient is committed before any vendor is called (<see cref="StartAsync"/>
/// does this step or the one before);</item>
/// <item><b>call</b>: the activity's own; a send too large for one vendor call goes batch by batch, each batch's
/// records marked Pending just before its call (<see cref="StartBatchAsync"/>) and settled just after it
/// (<see cref="SettleBatchAsync"/>), so a crash leaves in doubt only the batches inside a call;</item>
/// <item><b>complete</b> (<see cref="CompleteAsync"/>): the records settled with the vendors' answers and the outputs kept
/// for step 2, in one transaction: the run's own commit when the plug-in's tables are in the runtime's database, so the
/// outputs and the instance state that says the send is done are one write (written alone instead as soon as the run
/// goes on to anything else first).</item>
/// </list>
/// What happens between the steps (a send window holding the send, OTP codes, opt-outs, batches) is the activity's;
/// the order is kept here: a step out of order throws.
/// </summary>
internal sealed class SendOnce<TOutputs> where TOutputs : class
{
    private readonly SendRecordStore records;
    private readonly SendOwner owner;
    private Stage stage;
    private BegunRecords? begun;
    private IReadOnlyDictionary<string, long>? recordIds;

    private SendOnce(SendRecordStore records, SendOwner owner, string key, SendLookup<TOutputs> found)
    {
        (this.records, this.owner, Key) = (records, owner, key);
        Prior = found.Prior;
        OptedOut = found.OptedOut;
    }

    private enum Stage { Found, Started, Ended }

    /// <summary>The idempotency key the records and kept outputs are under.</summary>
    public string Key { get; }

    /// <summary>What an earlier execution under the key left; null when there was none.</summary>
    public PriorSend<TOutputs>? Prior { get; }

    /// <summary>Of the recipients given to <see cref="FindAsync"/>, those on the opt-out list.</summary>
    public IReadOnlySet<string> OptedOut { get; }

    /// <summary>The outputs an earlier execution completed with: replay them; nothing else is to be done.</summary>
    public TOutputs? Completed => Prior?.Completed;

    /// <summary>An earlier execution began and never completed: <see cref="StartAsync"/> marks what it left in doubt instead of beginning.</summary>
    public bool Interrupted => Prior is { Completed: null };

    /// <summary>Step 1: reads what an earlier execution under <paramref name="key"/> left and which of <paramref name="recipients"/> opted out.</summary>
    public static async Task<SendOnce<TOutputs>> FindAsync(SendRecordStore records, SendOwner owner, string key, IReadOnlyCollection<string> recipients,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(owner);
        await owner.WritePendingAsync().ConfigureAwait(false);
        return new SendOnce<TOutputs>(records, owner, key, await records.LookUpAsync<TOutputs>(key, recipients, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Steps 3 and 4, just before the first vendor call: an interrupted execution's Pending records are marked in doubt
    /// (what it never handed to a vendor may still be sent); otherwise <paramref name="recipients"/>' records are begun,
    /// Queued when <paramref name="batched"/> (each batch is then started and settled on its own), else Pending.
    /// </summary>
    public async Task StartAsync(string vendor, IReadOnlyList<string> recipients, CancellationToken cancellationToken, bool batched = false)
    {
        Advance(Stage.Found, Stage.Started);
        await owner.WritePendingAsync().ConfigureAwait(false);
        if (Interrupted) await records.MarkInDoubtAsync(Key, cancellationToken).ConfigureAwait(false);
        // With the ids the database told (a batched begin on SQLite), its batches are settled without reading them back.
        else begun = await records.BeginAsync(Key, owner.InstanceId, owner.ActivityId, vendor, recipients, cancellationToken, batched, owner.DefinitionId).ConfigureAwait(false);
    }

    /// <summary>
    /// For a send going batch by batch, once started: its record ids by mobile, as the begin told them or, after an
    /// interruption (or where the database does not tell them), read once; its batches' writes then go by id.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> RecordIdsAsync(CancellationToken cancellationToken)
    {
        Require(Stage.Started);
        return recordIds ??= begun?.Ids ?? await records.RecordIdsAsync(Key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Marks one batch's Queued records Pending, committed just before the batch is handed to a vendor. False: another
    /// run of the send started some of them first, and only that run may hand them to a vendor.
    /// </summary>
    public async Task<bool> StartBatchAsync(IReadOnlyList<long> batch, CancellationToken cancellationToken)
    {
        Require(Stage.Started);
        await owner.WritePendingAsync().ConfigureAwait(false);
        return await records.StartBatchAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Settles the records of a batch just answered (<see cref="RecordIdsAsync"/> read first): without reading them back
    /// when this execution began them, else by id.
    /// </summary>
    public Task SettleBatchAsync(IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken)
    {
        Require(Stage.Started);
        if (begun is not null) return records.SettleStartedAsync(begun, outcomes, cancellationToken);
        return records.SettleAsync(Key, recordIds ?? throw new InvalidOperationException($"send {Key}: record ids not read before a batch settled"), outcomes,
            cancellationToken);
    }

    /// <summary>
    /// Step 3 for an activity that does not go on after an interruption (a voice call, an email: the vendor cannot tell
    /// whether it sent): what the earlier execution left is marked in doubt and no vendor is called.
    /// </summary>
    public async Task EndInDoubtAsync(CancellationToken cancellationToken)
    {
        if (!Interrupted) throw new InvalidOperationException($"send {Key}: nothing was interrupted to end in doubt");
        Advance(Stage.Found, Stage.Ended);
        await owner.WritePendingAsync().ConfigureAwait(false);
        await records.MarkInDoubtAsync(Key, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Step 6: settles the records with <paramref name="outcomes"/> (those not settled batch by batch already) and keeps
    /// <paramref name="outputs"/> for a repeated execution to replay, in one transaction.
    /// </summary>
    /// <remarks>
    /// Handed to the run's commit when it can ride it (<see cref="SendRecordStore.CompletionForRunCommit{TOutputs}"/>): a
    /// crash before that commit leaves the records begun and not completed, so a re-run finds the send interrupted and in
    /// doubt, as a crash inside the vendor call does; nothing runs between the two but the rest of this activity.
    /// </remarks>
    public async Task CompleteAsync(IReadOnlyList<SmsRecipientOutcome> outcomes, TOutputs outputs, CancellationToken cancellationToken)
    {
        Advance(Stage.Started, Stage.Ended);
        if (owner.Run is { } run && records.CompletionForRunCommit(Key, outcomes, outputs) is { } completion) run.WriteWithRunCommit(completion);
        else await records.CompleteAsync(Key, outcomes, outputs, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Instead of steps 3–6, for a send that reached no vendor and wrote no records (every recipient opted out): its
    /// <paramref name="outputs"/> are kept, so a repeated execution replays them.
    /// </summary>
    public async Task KeepUnsentAsync(TOutputs outputs, CancellationToken cancellationToken)
    {
        if (Prior is not null) throw new InvalidOperationException($"send {Key}: an earlier execution left records; it is completed, not kept unsent");
        Advance(Stage.Found, Stage.Ended);
        await owner.WritePendingAsync().ConfigureAwait(false);
        await records.CompleteAsync(Key, [], outputs, cancellationToken).ConfigureAwait(false);
    }

    private void Advance(Stage from, Stage to)
    {
        if (Completed is not null) throw new InvalidOperationException($"send {Key} completed in an earlier execution: replay its outputs, do not send again");
        if (stage != from) throw new InvalidOperationException($"send {Key} is {stage}: it goes {to} only when {from}");
        stage = to;
    }

    private void Require(Stage current)
    {
        if (stage != current) throw new InvalidOperationException($"send {Key} is {stage}: its batches are sent only when {current}");
    }
}

/// <summary>
/// Whose send records a send writes: the workflow instance, the activity, and the workflow definition (for the insights);
/// and the activity execution whose run's commit a completion rides (<paramref name="Run"/>; null: written at once).
/// </summary>
internal sealed record SendOwner(string InstanceId, string ActivityId, string? DefinitionId, ActivityExecutionContext? Run = null)
{
    public static SendOwner Of(ActivityExecutionContext context, string activityId)
    {
        ArgumentNullException.ThrowIfNull(context);
        var definitionId = context.ExpressionContext.WorkflowDefinitionId;
        return new SendOwner(context.WorkflowInstanceId, activityId, string.IsNullOrEmpty(definitionId) ? null : definitionId, context);
    }

    /// <summary>
    /// Writes alone what the run holds for its commit (an earlier completion of this activity, a time zone group's),
    /// before another step writes or reads the records: each step then finds the one before it written, as it would
    /// without the commit's ride.
    /// </summary>
    public Task WritePendingAsync() => Run?.WriteCommitWritesAloneAsync() ?? Task.CompletedTask;
}
