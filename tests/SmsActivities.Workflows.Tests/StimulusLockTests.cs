using System.Data;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// The advisory locks of stimuli and bookmarks on PostgreSQL, each transaction on its own connection as on two nodes:
/// stimuli of one hash (every report of one campaign's send) are recorded side by side; a repeat of one waits for the
/// first, and so does a commit writing a bookmark of that hash.
/// </summary>
public sealed class StimulusLockTests
{
    private static readonly TimeSpan Blocked = TimeSpan.FromSeconds(2);
    private const string CampaignHash = "one-campaign-send";

    [Fact]
    public async Task Stimuli_of_one_hash_lock_side_by_side_while_a_repeat_and_a_bookmark_of_that_hash_wait()
    {
        await using var store = await TestStore.CreateAsync(TestStore.PostgreSql);
        await using var first = await OpenAsync(store);
        await StimulusHashLocks.LockAsync(first.Context, [], [(CampaignHash, "report:yunpian:m1:Delivered")], CancellationToken.None);

        // Another message's report of the same send, on another node: not held up by the first.
        await using var other = await OpenAsync(store);
        var otherLocked = StimulusHashLocks.LockAsync(other.Context, [], [(CampaignHash, "report:yunpian:m2:Delivered")], CancellationToken.None);
        Assert.True(await Task.WhenAny(otherLocked, Task.Delay(TimeSpan.FromSeconds(30))) == otherLocked, "a report of another message waited for the first");

        // The first report pushed again, and the wait's bookmark being committed: both wait until the reports commit.
        await using var repeat = await OpenAsync(store);
        var repeatLocked = StimulusHashLocks.LockAsync(repeat.Context, [], [(CampaignHash, "report:yunpian:m1:Delivered")], CancellationToken.None);
        await using var bookmark = await OpenAsync(store);
        var bookmarkLocked = StimulusHashLocks.LockAsync(bookmark.Context, [CampaignHash], [], CancellationToken.None);
        await Task.Delay(Blocked);
        Assert.False(repeatLocked.IsCompleted, "a repeat of a report did not wait for the first");
        Assert.False(bookmarkLocked.IsCompleted, "a bookmark of the hash did not wait for the stimuli being recorded");

        await first.Transaction.CommitAsync();
        await repeatLocked.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(Blocked);
        Assert.False(bookmarkLocked.IsCompleted, "a bookmark of the hash did not wait for every stimulus being recorded");
        await other.Transaction.CommitAsync();
        await repeat.Transaction.CommitAsync();
        await bookmarkLocked.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task<OpenTransaction> OpenAsync(TestStore store)
    {
        var options = new DbContextOptionsBuilder<WorkflowDbContext>();
        store.Settings.Configure(options, WorkflowDbContext.Schema);
        var context = new WorkflowDbContext(options.Options);
        return new OpenTransaction(context, await context.Database.BeginTransactionAsync(IsolationLevel.ReadCommitted));
    }

    private sealed record OpenTransaction(WorkflowDbContext Context, Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction Transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await Context.DisposeAsync();
        }
    }
}
