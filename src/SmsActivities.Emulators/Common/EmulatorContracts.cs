using System.Collections.Concurrent;
using Microsoft.AspNetCore.Routing;

namespace SmsActivities.Emulators;

/// <summary>One vendor's API and push behaviour, mounted under <c>/{Vendor}</c> of the emulator host.</summary>
public interface IVendorEmulator
{
    /// <summary>The vendor key (<see cref="SmsActivities.Vendors.VendorNames"/>); also the path prefix.</summary>
    string Vendor { get; }

    /// <summary>Maps the vendor's routes onto a group already prefixed with <c>/{Vendor}</c>.</summary>
    void Map(IEndpointRouteBuilder routes);

    /// <summary>Outage knobs (fail or delay the next calls), applied to every API call of this emulator.</summary>
    EmulatorFaults Faults { get; }

    /// <summary>Where each kind of push goes (<c>status</c> and <c>reply</c> everywhere, plus YANINGAI's <c>voice-status</c>, <c>email-status</c> and <c>email-tracking</c>).</summary>
    PushCallbacks Callbacks { get; }

    /// <summary>A handset sends an SMS to the platform: pushed to the reply callback if one is set, else kept for the pull API.</summary>
    void InjectReply(HandsetReply reply);
}

/// <summary>An inbound SMS typed on a handset. <paramref name="Mobile"/> in E.164.</summary>
public sealed record HandsetReply(string Mobile, string Text, string? Extend = null);

/// <summary>What the emulator does with a message sent to one number.</summary>
public sealed record DeliveryPlan(DeliveryOutcome Outcome, TimeSpan After, string? FailureCode = null)
{
    public static DeliveryPlan Deliver(TimeSpan? after = null) => new(DeliveryOutcome.Delivered, after ?? TimeSpan.FromMilliseconds(50));
    public static DeliveryPlan Fail(string code, TimeSpan? after = null) => new(DeliveryOutcome.Failed, after ?? TimeSpan.FromMilliseconds(50), code);
    public static DeliveryPlan NeverReport { get; } = new(DeliveryOutcome.NeverReported, TimeSpan.Zero);
}

/// <summary>Taken by name (as the sandbox docs show) or by number in the controls' JSON.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<DeliveryOutcome>))]
public enum DeliveryOutcome { Delivered, Failed, NeverReported }

/// <summary>Per-number delivery outcomes, scriptable by a test; numbers without a plan are delivered after 50 ms.</summary>
public sealed class DeliveryScript
{
    private readonly ConcurrentDictionary<string, DeliveryPlan> _plans = new(StringComparer.Ordinal);

    public DeliveryPlan Default { get; set; } = DeliveryPlan.Deliver();

    /// <summary>Plans the outcome for one number, given in E.164.</summary>
    public DeliveryScript For(string e164, DeliveryPlan plan)
    {
        _plans[e164] = plan;
        return this;
    }

    public DeliveryPlan PlanFor(string e164) => _plans.TryGetValue(e164, out var plan) ? plan : Default;

    /// <summary>
    /// The handset of <paramref name="e164"/> answers every message it receives with <paramref name="text"/>,
    /// <paramref name="after"/> the vendor accepted it (zero: the moment the message is accepted, before the sender even has its answer).
    /// </summary>
    public DeliveryScript AnswerFrom(string e164, string text, TimeSpan? after = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        _answers[e164] = new HandsetAnswer(text, after ?? TimeSpan.Zero);
        return this;
    }

    public HandsetAnswer? AnswerFor(string e164) => _answers.GetValueOrDefault(e164);

    public void Clear()
    {
        _plans.Clear();
        _answers.Clear();
    }

    private readonly ConcurrentDictionary<string, HandsetAnswer> _answers = new(StringComparer.Ordinal);
}

/// <summary>What a scripted handset types back when a message reaches it.</summary>
public sealed record HandsetAnswer(string Text, TimeSpan After);

internal static class HandsetAnswers
{
    /// <summary>Plays the scripted answer of the number a message was just accepted for, if it has one.</summary>
    public static void Play<TEmulator>(TEmulator emulator, string e164) where TEmulator : IVendorEmulator, IScriptedEmulator
    {
        if (emulator.Script.AnswerFor(e164) is not { } answer) return;
        if (answer.After <= TimeSpan.Zero) emulator.InjectReply(new HandsetReply(e164, answer.Text));
        else Task.Run(async () =>
        {
            await Task.Delay(answer.After).ConfigureAwait(false);
            emulator.InjectReply(new HandsetReply(e164, answer.Text));
        });
    }
}

/// <summary>Every request an emulator received, so tests can assert what was sent.</summary>
public sealed record RecordedRequest(
    string Vendor,
    string Method,
    string Path,
    string QueryString,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    DateTimeOffset ReceivedAt);

/// <summary>
/// The most recent requests the emulators received (at most <see cref="Capacity"/>; the oldest make room), for tests
/// to assert what was sent. Each keeps its body and headers, about a kilobyte: kept without bound, 100,000 sends of a
/// campaign in the sandbox server kept 100 MB that only a test ever reads.
/// </summary>
public sealed class RequestJournal
{
    /// <summary>How many requests a journal keeps unless told otherwise.</summary>
    public const int DefaultCapacity = 10_000;

    private readonly RecentLog<RecordedRequest> _requests = new(DefaultCapacity);

    /// <summary>The most requests kept (0: none).</summary>
    public int Capacity
    {
        get => _requests.Capacity;
        set => _requests.Capacity = value;
    }

    /// <summary>Requests dropped to keep within <see cref="Capacity"/>: a count read from <see cref="All"/> or <see cref="For"/> is complete only while this is 0.</summary>
    public long Dropped => _requests.Dropped;

    public void Add(RecordedRequest request) => _requests.Add(request);

    public IReadOnlyList<RecordedRequest> All => _requests.ToArray();

    public IReadOnlyList<RecordedRequest> For(string vendor, string? pathEndsWith = null) =>
        _requests.ToArray().Where(r => r.Vendor == vendor && (pathEndsWith is null || r.Path.EndsWith(pathEndsWith, StringComparison.Ordinal))).ToArray();

    public void Clear() => _requests.Clear();
}

/// <summary>
/// The emulators' sense of time. <see cref="Scale"/> shrinks every delay the emulators wait for themselves
/// (report delays, push retry schedules) so a test can play Yunpian's "5 retries over 5 minutes" in milliseconds.
/// Time windows the vendor checks (signature timestamps, anti-abuse limits) use <see cref="Time"/> unscaled.
/// </summary>
public sealed class EmulatorClock(TimeProvider time)
{
    public TimeProvider Time { get; } = time;

    /// <summary>1 = real time; 0.001 = a thousand times faster.</summary>
    public double Scale { get; set; } = 1.0;

    public DateTimeOffset Now => Time.GetUtcNow();

    public TimeSpan Scaled(TimeSpan delay) => TimeSpan.FromTicks((long)(delay.Ticks * Scale));

    public Task Delay(TimeSpan delay, CancellationToken cancellationToken) =>
        Task.Delay(Scaled(delay), Time, cancellationToken);
}
