using System.ComponentModel.DataAnnotations;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// How long the runtime keeps what it no longer needs (the server binds <c>Workflows:Retention</c>). The defaults keep
/// a busy sandbox's database to a few hundred MB: finished instances go after 3 days with their journal and execution
/// records, the bodies of stimuli that were served (a 1 MB push field, a request body) after an hour, and completed
/// alteration plans after a week. Suspended instances are purged only when abandoned (no timer, idle for 30 days).
/// </summary>
public sealed class WorkflowRetentionOptions
{
    /// <summary>Finished, cancelled and faulted instances are deleted this long after they ended (with their journal, execution records and deliveries).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan FinishedInstances { get; set; } = TimeSpan.FromDays(3);

    /// <summary>
    /// A served stimulus is kept until the inbox retention ends so its dedupe key turns away repeats, but its input (the
    /// push or request body) is blanked this long after it arrived.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan ServedStimulusInputs { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// A suspended instance that waits only for something from outside (no timer of its own) and has not moved for this
    /// long is deleted: nobody is going to answer it. An instance with a timer is left to its timer. Null (in code) keeps them for ever.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan? AbandonedInstances { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// Completed alteration plans are deleted with their jobs' results this long after they completed. A plan still
    /// running (or left unfinished by a stopped node, to be taken over) is never deleted.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan CompletedAlterationPlans { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the purge runs.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Instances deleted per transaction, so a large backlog never holds the write lock for long.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 500;
}
