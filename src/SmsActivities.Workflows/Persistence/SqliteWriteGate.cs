using Microsoft.EntityFrameworkCore;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// SQLite lets one connection write at a time; a second writer waits in SQLite's busy handler, which sleeps in steps of
/// up to 100 ms and wakes in no particular order, so a webhook's short transaction could sit behind the dispatcher's
/// claims and group commits for a second or more. The runtime's hot writers (accepting stimuli, claiming deliveries,
/// leasing instances, committing runs) queue here instead: the next one starts the moment the previous one ends, and
/// an accept (a caller waits for its acknowledgement) goes before the dispatcher's background writes. Only coordination
/// within the process: SQLite's own lock still guards the file, so other processes and the writes that do not queue
/// here stay correct. PostgreSQL has row locks and concurrent writers: the gate lets everything through.
/// </summary>
public sealed class SqliteWriteGate
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource> _urgent = [];
    private readonly LinkedList<TaskCompletionSource> _background = [];
    private bool _held;

    /// <summary>Waits for the file's write turn; dispose the result to hand it on.</summary>
    /// <param name="urgent">A caller is waiting for this write (an acknowledgement): it goes before background writes.</param>
    public async ValueTask<IDisposable> EnterAsync(DbContext context, bool urgent, CancellationToken cancellationToken)
    {
        if (context.Database.ProviderName != DatabaseSettings.SqliteProviderName) return Open.Instance;
        TaskCompletionSource turn;
        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            if (!_held)
            {
                _held = true;
                return new Turn(this);
            }
            turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            node = (urgent ? _urgent : _background).AddLast(turn);
        }
        await using (cancellationToken.Register(() =>
        {
            // Cancelled before its turn came: leave the queue (a turn already handed over is kept and must be released).
            if (!turn.TrySetCanceled(cancellationToken)) return;
            lock (_lock) node.List?.Remove(node);
        }))
        {
            await turn.Task;
        }
        return new Turn(this);
    }

    private void Release()
    {
        lock (_lock)
        {
            while ((_urgent.First ?? _background.First) is { } next)
            {
                next.List!.Remove(next);
                if (next.Value.TrySetResult()) return;
            }
            _held = false;
        }
    }

    private sealed class Turn(SqliteWriteGate gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }

    private sealed class Open : IDisposable
    {
        public static Open Instance { get; } = new();

        public void Dispose() { }
    }
}
