using System.Collections.Concurrent;

namespace SmsActivities.Emulators;

/// <summary>
/// Work an emulator plays later on the emulator clock (scripted deliveries that land in the pull queues or start
/// pushes), tracked so a test can wait until it has happened instead of sleeping and hoping.
/// </summary>
public sealed class EmulatorScheduler(EmulatorClock clock)
{
    private readonly BackgroundTasks _tasks = new();

    /// <summary>Runs <paramref name="action"/> after <paramref name="delay"/> (vendor time, scaled by the clock).</summary>
    public void After(TimeSpan delay, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        _tasks.Track(Task.Run(async () =>
        {
            await clock.Delay(delay, CancellationToken.None).ConfigureAwait(false);
            action();
        }));
    }

    /// <summary>Waits until everything scheduled so far has run.</summary>
    public Task DrainAsync() => _tasks.DrainAsync();
}

/// <summary>Background tasks still running, so callers can wait for them.</summary>
internal sealed class BackgroundTasks
{
    private readonly ConcurrentDictionary<Task, byte> _running = new();

    public void Track(Task task)
    {
        _running[task] = 0;
        task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
    }

    public Task DrainAsync() => Task.WhenAll(_running.Keys.ToArray());
}
