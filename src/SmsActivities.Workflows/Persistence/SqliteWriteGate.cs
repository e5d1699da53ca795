using Microsoft.EntityFrameworkCore;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// SQLite lets one connection write at a time; a second writer waits in SQLite's busy handler, which sleeps in steps of
/// up to 100 ms and wakes in no particular order, so a webhook's short transaction could sit behind the dispatcher's
/// claims and group commits for a second or more. The runtime's hot writers (accepting stimuli, claiming deliveries,
/// leasing instances, committing runs) queue here instead: the next one starts the moment the previous one ends, and
/// an accept (a caller waits for its acknowledgement) goes before the dispatcher's background writes, though never more
/// than <see cref="UrgentInARow"/> of them in a row while a background write waits: a flood of pushes (a campaign's
/// reports, hundreds at once) must not hold up the commits of the runs that sent them. Only coordination
/// within the process: SQLite's own lock still guards the file, so other processes and the writes that do not queue
/// here stay correct. PostgreSQL has row locks and concurrent writers: the gate lets everything through.
/// </summary>
public sealed class SqliteWriteGate
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource> _urgent = [];
    private readonly LinkedList<TaskCompletionSource> _background = [];
    private bool _held;
    private int _urgentInARow;

    /// <summary>Urgent turns handed on in a row before a waiting background write gets one: acknowledgements stay quick, background writes are not starved.</summary>
    internal const int UrgentInARow = 8;

    /// <summary>Waits for the file's write turn; dispose the result to hand it on.</summary>
    /// <param name="urgent">A caller is waiting for this write (an acknowledgement): it goes before background writes.</param>
    public async ValueTask<IDisposable> EnterAsync(DbContext context, bool urgent, CancellationToken cancellationToken)
    {
        if (!DatabaseEngine.IsSqlite(context.Database)) return Open.Instance;
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
            while ((_urgentInARow >= UrgentInARow ? _background.First ?? _urgent.First : _urgent.First ?? _background.First) is { } next)
            {
                var urgent = next.List == _urgent;
                next.List!.Remove(next);
                if (!next.Value.TrySetResult()) continue;
                _urgentInARow = urgent ? _urgentInARow + 1 : 0;
                return;
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
