using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Builder;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Runtime;

/// <summary>Settings of <c>services.AddWorkflowRuntime(...)</c>.</summary>
public sealed class WorkflowRuntimeOptions
{
    internal Action<DbContextOptionsBuilder> ConfigureDatabase { get; private set; } = b => DatabaseSettings.UseSqlite(b, "Data Source=workflows.db");
    internal List<Type> ActivityTypes { get; } = [];
    internal List<Func<IServiceProvider, IWorkflow>> Workflows { get; } = [];

    /// <summary>Folder whose <c>*.json</c> definitions are saved and published on start (e.g. the repo's <c>workflows/</c>).</summary>
    public string? WorkflowsFolder { get; set; }
    /// <summary>How long an unmatched stimulus waits in the inbox for its bookmark (default 24 h).</summary>
    public TimeSpan InboxRetention { get; set; } = TimeSpan.FromHours(24);
    /// <summary>
    /// Most stimuli waiting with a retention shorter than <see cref="InboxRetention"/> (a host's unmatched events, see
    /// <see cref="Execution.Stimulus.UnmatchedRetention"/>); beyond it the oldest are dropped. Checked every 10 seconds.
    /// At least 1.
    /// </summary>
    public int MaxUnmatchedStimuli { get; set; } = 10_000;
    /// <summary>
    /// How long an instance lease lasts; a process that dies holding one loses it after this. The holder renews its
    /// leases every third of it while it runs, so a long run keeps its instance and a crash is taken over within seconds.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// How long the due timers a node took (several nodes on PostgreSQL) are kept from the other nodes. The node renews
    /// the claim while it works through them, so the claim can be short: the timers of a node that dies are taken over
    /// within about this long, rather than waiting for its instance leases. A lapsed claim costs at most a wasted
    /// attempt (the instance lease and the bookmark, burnt in the run's commit, keep the run itself exactly-once).
    /// </summary>
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromSeconds(3);
    /// <summary>How long a second stimulus waits for a busy instance before its delivery is left to the retry loop.</summary>
    public TimeSpan LeaseWaitTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>How often the background service looks for due timers, pending deliveries and expired leases.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// How many instances a batch of stimuli (<see cref="WorkflowRuntime.SendStimuliAsync"/>) runs at once. Runs of one
    /// instance stay one after the other; different instances overlap their activity work and their commits.
    /// </summary>
    public int MaxParallelRuns { get; set; } = Math.Max(2, Environment.ProcessorCount);
    /// <summary>
    /// How many due deliveries the dispatcher claims and runs at once (accepted stimuli, retries, crash leftovers). Their
    /// runs commit in one transaction, which holds SQLite's single write lock meanwhile: a webhook's acknowledgement
    /// waits behind it, so larger batches trade acknowledgement latency for fewer commits.
    /// </summary>
    public int DispatchBatchSize { get; set; } = 100;
    /// <summary>
    /// How long the dispatcher, woken by an accepted stimulus, waits for more before it claims a batch: a little latency
    /// for fuller batches (more deliveries of one instance in one run) under load. Zero claims at once.
    /// </summary>
    public TimeSpan DispatchDelay { get; set; } = TimeSpan.FromMilliseconds(5);
    /// <summary>
    /// The fewest thread-pool threads the process keeps ready, raised to this on start (never lowered; 0 leaves the pool
    /// alone). SQLite's calls block the thread that makes them, and while the runtime's batches hold threads that way the
    /// pool adds threads only slowly: a webhook's acknowledgement then waits for a thread. Measured on a 2-core machine
    /// during a burst of 20,000 reports: the slowest acknowledgements 138 and 210 ms at the pool's default of 2, 64 and
    /// 85 ms (the rest one garbage collection's pause) with 8.
    /// </summary>
    public int MinThreadPoolThreads { get; set; } = 4 * Environment.ProcessorCount;
    /// <summary>Run the background service (timers, retries, recovery, housekeeping). Off only in special tests and tools.</summary>
    public bool RunBackgroundService { get; set; } = true;
    /// <summary>
    /// Warm, before the host reports started, what the first run would otherwise compile and build while a caller waits
    /// (the runtime's and the SMS plug-in's warm-ups). Off only where starts outnumber first requests and their latency
    /// does not matter, such as a test suite that starts a server per test.
    /// </summary>
    public bool WarmUpOnStart { get; set; } = true;

    /// <summary>Checks the settings on start; the message names the setting and its rule.</summary>
    internal void Validate()
    {
        var errors = new List<string>();
        void Within(string name, TimeSpan value, TimeSpan min, TimeSpan max)
        {
            if (value < min || value > max) errors.Add($"Workflows:Runtime:{name} is {value}; it must be between {min} and {max}.");
        }
        Within(nameof(LeaseDuration), LeaseDuration, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Within(nameof(ClaimDuration), ClaimDuration, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        Within(nameof(LeaseWaitTimeout), LeaseWaitTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        Within(nameof(PollInterval), PollInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromDays(1));
        Within(nameof(InboxRetention), InboxRetention, TimeSpan.FromSeconds(1), TimeSpan.FromDays(3650));
        Within(nameof(DispatchDelay), DispatchDelay, TimeSpan.Zero, TimeSpan.FromHours(1));
        if (MaxParallelRuns < 1) errors.Add($"Workflows:Runtime:{nameof(MaxParallelRuns)} is {MaxParallelRuns}; it must be at least 1.");
        // Zero would drop every early arrival (a report that comes before its wait began) at the next check.
        if (MaxUnmatchedStimuli < 1)
            errors.Add($"Workflows:Runtime:{nameof(MaxUnmatchedStimuli)} is {MaxUnmatchedStimuli}; it must be at least 1 (0 would drop every unmatched event, early replies and reports included).");
        if (MinThreadPoolThreads is < 0 or > 32_767)
            errors.Add($"Workflows:Runtime:{nameof(MinThreadPoolThreads)} is {MinThreadPoolThreads}; it must be between 0 (leave the pool alone) and 32767.");
        if (DispatchBatchSize < 1) errors.Add($"Workflows:Runtime:{nameof(DispatchBatchSize)} is {DispatchBatchSize}; it must be at least 1.");
        if (errors.Count > 0) throw new Microsoft.Extensions.Options.OptionsValidationException(nameof(WorkflowRuntimeOptions), typeof(WorkflowRuntimeOptions), errors);
    }

    /// <summary>SQLite file (the default is <c>workflows.db</c> in the working directory).</summary>
    public WorkflowRuntimeOptions UseSqlite(string path)
    {
        ConfigureDatabase = b => DatabaseSettings.UseSqlite(b, $"Data Source={path};Pooling=True");
        return this;
    }

    /// <summary>SQLite or PostgreSQL as <see cref="DatabaseSettings.FromConfiguration"/> read them.</summary>
    public WorkflowRuntimeOptions UseDatabase(DatabaseSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ConfigureDatabase = b => settings.Configure(b, WorkflowDbContext.Schema);
        MigrateOnStart = settings.MigrateOnStart;
        return this;
    }

    /// <summary>
    /// Apply pending migrations on start (default). Off, the start fails when the database lacks a migration, so a
    /// pipeline that migrates with <c>dotnet ef database update</c> or a bundle is not bypassed.
    /// </summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>Any EF Core provider, e.g. <c>b => b.UseNpgsql(connectionString)</c>.</summary>
    public WorkflowRuntimeOptions UseDatabase(Action<DbContextOptionsBuilder> configure)
    {
        ConfigureDatabase = configure;
        return this;
    }

    public WorkflowRuntimeOptions AddActivity<T>() where T : Activity, new()
    {
        ActivityTypes.Add(typeof(T));
        return this;
    }

    /// <summary>Registers every concrete activity class of an assembly.</summary>
    public WorkflowRuntimeOptions AddActivitiesFrom(System.Reflection.Assembly assembly)
    {
        ActivityTypes.AddRange(assembly.GetTypes().Where(t => typeof(Activity).IsAssignableFrom(t) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) != null));
        return this;
    }

    /// <summary>A code-first workflow, registered beside the JSON ones.</summary>
    public WorkflowRuntimeOptions AddWorkflow<T>() where T : IWorkflow, new()
    {
        Workflows.Add(_ => new T());
        return this;
    }

    public WorkflowRuntimeOptions AddWorkflow(IWorkflow workflow)
    {
        Workflows.Add(_ => workflow);
        return this;
    }
}
