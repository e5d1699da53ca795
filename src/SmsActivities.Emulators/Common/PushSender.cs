using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SmsActivities.Emulators;

/// <summary>One push as the vendor would send it.</summary>
/// <param name="IsAcknowledged">The vendor's rule for "the receiver got it" (e.g. Yunpian: body is exactly SUCCESS or 0).</param>
/// <param name="RetrySchedule">Delays before each retry when not acknowledged (unscaled vendor times).</param>
public sealed record Push(
    string Vendor,
    string Kind,
    Uri Url,
    string ContentType,
    string Body,
    Func<int, string, bool> IsAcknowledged,
    IReadOnlyList<TimeSpan> RetrySchedule);

public sealed record PushAttempt(string Vendor, string Kind, Uri Url, string Body, int StatusCode, string ResponseBody, bool Acknowledged, int Attempt, DateTimeOffset At);

/// <summary>
/// Sends vendor pushes in the background and retries them on the vendor's schedule (scaled by the clock)
/// until the receiver acknowledges in the vendor's terms. Every attempt is recorded (the newest in <see cref="Log"/>).
/// </summary>
public sealed class PushSender(HttpClient http, EmulatorClock clock, ILogger<PushSender> logger) : IAsyncDisposable
{
    /// <summary>The attempts recorded: the newest <see cref="RecentLogs.PushAttempts"/> unless its capacity is changed.</summary>
    public RecentLog<PushAttempt> Log { get; } = new(RecentLogs.PushAttempts);
    private readonly BackgroundTasks _inFlight = new();
    private readonly CancellationTokenSource _stopping = new();

    public IReadOnlyList<PushAttempt> Attempts => Log.ToArray();

    /// <summary>Sends after <paramref name="delay"/> (unscaled), then retries on the push's schedule.</summary>
    public void Send(Push push, TimeSpan delay = default)
    {
        _inFlight.Track(Task.Run(() => RunAsync(push, delay, _stopping.Token)));
    }

    /// <summary>Waits until every push sent so far has finished its attempts (for tests).</summary>
    public Task DrainAsync() => _inFlight.DrainAsync();

    private async Task RunAsync(Push push, TimeSpan delay, CancellationToken ct)
    {
        try
        {
            if (delay > TimeSpan.Zero) await clock.Delay(delay, ct).ConfigureAwait(false);
            for (var attempt = 0; attempt <= push.RetrySchedule.Count; attempt++)
            {
                if (attempt > 0) await clock.Delay(push.RetrySchedule[attempt - 1], ct).ConfigureAwait(false);
                var (status, body) = await PostAsync(push, ct).ConfigureAwait(false);
                var ok = status is >= 200 and < 300 && push.IsAcknowledged(status, body);
                Log.Add(new PushAttempt(push.Vendor, push.Kind, push.Url, push.Body, status, body, ok, attempt + 1, clock.Now));
                if (ok) return;
            }
            logger.LogWarning("{Vendor} {Kind} push to {Url} never acknowledged", push.Vendor, push.Kind, push.Url);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task<(int Status, string Body)> PostAsync(Push push, CancellationToken ct)
    {
        try
        {
            using var content = new StringContent(push.Body, System.Text.Encoding.UTF8);
            content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(push.ContentType);
            using var response = await http.PostAsync(push.Url, content, ct).ConfigureAwait(false);
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
        }
        catch (HttpRequestException ex)
        {
            return (0, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try { await DrainAsync().ConfigureAwait(false); } catch (OperationCanceledException) { }
        _stopping.Dispose();
    }
}
