using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SmsActivities.Emulators.SendCloud;
using SmsActivities.Emulators.Tencent;
using SmsActivities.Emulators.Yaningai;
using SmsActivities.Emulators.Yunpian;

namespace SmsActivities.Emulators;

/// <summary>What every vendor emulator shares: time, the push sender, the request journal and the scheduler of later work.</summary>
public sealed record EmulatorContext(EmulatorClock Clock, PushSender Pushes, RequestJournal Requests, EmulatorScheduler Scheduler);

/// <summary>
/// The four vendor emulators with their shared context. Mount them on any ASP.NET Core app with
/// <see cref="EmulatorEndpoints.MapVendorEmulators"/> (the server does so in sandbox mode), or run
/// them on their own loopback port with <see cref="EmulatorHost"/>.
/// </summary>
public sealed class EmulatorSet : IAsyncDisposable
{
    private readonly HttpClient _pushHttp;

    public EmulatorSet(TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        loggerFactory ??= NullLoggerFactory.Instance;
        _pushHttp = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Clock = new EmulatorClock(time ?? TimeProvider.System);
        Requests = new RequestJournal();
        Pushes = new PushSender(_pushHttp, Clock, loggerFactory.CreateLogger<PushSender>());
        Scheduler = new EmulatorScheduler(Clock);
        var context = new EmulatorContext(Clock, Pushes, Requests, Scheduler);
        Yunpian = new YunpianEmulator(context);
        Tencent = new TencentEmulator(context);
        SendCloud = new SendCloudEmulator(context);
        Yaningai = new YaningaiEmulator(context);
        All = [Yunpian, Tencent, SendCloud, Yaningai];
    }

    public EmulatorClock Clock { get; }
    public RequestJournal Requests { get; }
    public PushSender Pushes { get; }
    public EmulatorScheduler Scheduler { get; }
    public YunpianEmulator Yunpian { get; }
    public TencentEmulator Tencent { get; }
    public SendCloudEmulator SendCloud { get; }
    public YaningaiEmulator Yaningai { get; }
    public IReadOnlyList<IVendorEmulator> All { get; }

    /// <summary>Waits until every scripted delivery due so far has happened and every push it started has finished its attempts.</summary>
    public async Task SettleAsync()
    {
        await Scheduler.DrainAsync().ConfigureAwait(false);
        await Pushes.DrainAsync().ConfigureAwait(false);
    }

    public IVendorEmulator Get(string vendor) =>
        All.FirstOrDefault(e => string.Equals(e.Vendor, vendor, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"No emulator for vendor '{vendor}'", nameof(vendor));

    public async ValueTask DisposeAsync()
    {
        await Pushes.DisposeAsync().ConfigureAwait(false);
        _pushHttp.Dispose();
    }
}

public static class EmulatorEndpoints
{
    /// <summary>
    /// The emulators' request pipeline for everything under <paramref name="prefix"/>: records each vendor API call
    /// in the set's journal, then applies that emulator's <see cref="EmulatorFaults"/> (delay, then fail). Must run
    /// before the endpoints of <see cref="MapVendorEmulators"/> (it buffers the body and rewinds it for them).
    /// The <c>/_…</c> control routes are neither recorded nor faulted.
    /// </summary>
    public static IApplicationBuilder UseVendorEmulators(this IApplicationBuilder app, EmulatorSet set, string prefix = "")
    {
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? string.Empty;
            var emulator = EmulatorOf(path, prefix, set, out var isControl);
            if (emulator is null || isControl)
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            string body;
            try
            {
                body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or Microsoft.AspNetCore.Http.BadHttpRequestException)
            {
                // The caller gave up while sending (a loaded machine can be that slow): the call still arrived and counts.
                set.Requests.Add(Record(context, emulator.Vendor, path, string.Empty, set.Clock.Now));
                return;
            }
            context.Request.Body.Position = 0;
            set.Requests.Add(Record(context, emulator.Vendor, path, body, set.Clock.Now));

            var (delay, failure) = emulator.Faults.TakeNext();
            if (delay > TimeSpan.Zero && !await WaitOrCallerGaveUpAsync(delay, set.Clock.Time, context.RequestAborted).ConfigureAwait(false))
            {
                // The caller gave up (its attempt timed out): the call is dropped unhandled, as by a gateway that timed out.
                return;
            }
            switch (failure)
            {
                case null:
                    await next(context).ConfigureAwait(false);
                    return;
                case (EmulatorFault.Refuse, var status):
                    context.Response.StatusCode = status;
                    return;
                case (var fault, var status):
                    await AcceptThenLoseTheAnswerAsync(context, next, fault, status, set.Clock.Time).ConfigureAwait(false);
                    return;
            }
        });
    }

    private static RecordedRequest Record(HttpContext context, string vendor, string path, string body, DateTimeOffset at) => new(
        vendor,
        context.Request.Method,
        path,
        context.Request.QueryString.Value ?? string.Empty,
        context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
        body,
        at);

    /// <summary>The longest an AcceptThenTimeout call holds its connection when the caller never gives up.</summary>
    private static readonly TimeSpan HangLimit = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The emulator handles the call for real (the message is sent, delivered and reported), but its answer is thrown
    /// away: the caller gets <paramref name="status"/> with an empty body, or no answer until it gives up.
    /// </summary>
    private static async Task AcceptThenLoseTheAnswerAsync(HttpContext context, RequestDelegate next, EmulatorFault fault, int status, TimeProvider time)
    {
        var original = context.Response.Body;
        await using (var discarded = new MemoryStream())
        {
            context.Response.Body = discarded;
            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                context.Response.Body = original;
            }
        }
        context.Response.Headers.Clear();
        if (fault == EmulatorFault.AcceptThenTimeout)
        {
            if (!await WaitOrCallerGaveUpAsync(HangLimit, time, context.RequestAborted).ConfigureAwait(false)) return;
            context.Abort();
            return;
        }
        context.Response.StatusCode = status;
    }

    /// <summary>False when the caller aborted the request before <paramref name="delay"/> was over.</summary>
    private static async Task<bool> WaitOrCallerGaveUpAsync(TimeSpan delay, TimeProvider time, CancellationToken requestAborted)
    {
        try
        {
            await Task.Delay(delay, time, requestAborted).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (requestAborted.IsCancellationRequested)
        {
            return false;
        }
    }


    /// <summary>
    /// Maps each emulator under <c>{prefix}/{vendor}</c>, plus the test/sandbox controls:
    /// <c>POST {prefix}/{vendor}/_handset/replies</c> {mobile, text, extend} and
    /// <c>PUT {prefix}/{vendor}/_script/{e164}</c> {outcome, afterMs, failureCode} and
    /// <c>POST {prefix}/{vendor}/_faults</c> {failNext, rate, seed, fault, status, delayNext, delayMs} (simulated outage; zeros clear it) and
    /// <c>PUT {prefix}/{vendor}/_callbacks/{kind}</c> {url} (where a kind of push goes; null stops it).
    /// Run <see cref="UseVendorEmulators"/> first: it records the calls and applies the faults.
    /// </summary>
    public static IEndpointRouteBuilder MapVendorEmulators(this IEndpointRouteBuilder routes, EmulatorSet set, string prefix = "")
    {
        foreach (var emulator in set.All)
        {
            var group = routes.MapGroup($"{prefix}/{emulator.Vendor}");
            emulator.Map(group);

            group.MapPost("/_handset/replies", (HandsetReply reply) =>
            {
                if (!SmsActivities.Vendors.PhoneNumber.TryParse(reply.Mobile, out var mobile, out var error))
                    return Results.BadRequest(new { field = "mobile", error });
                if (string.IsNullOrEmpty(reply.Text))
                    return Results.BadRequest(new { field = "text", error = "must not be empty" });
                emulator.InjectReply(reply with { Mobile = mobile.E164 });
                return Results.Accepted();
            });

            group.MapPut("/_script/{e164}", (string e164, ScriptRequest request) =>
            {
                if (!SmsActivities.Vendors.PhoneNumber.TryParse(e164, out var mobile, out var error))
                    return Results.BadRequest(new { field = "e164", error });
                var after = TimeSpan.FromMilliseconds(request.AfterMs ?? 50);
                DeliveryPlan plan = request.Outcome switch
                {
                    DeliveryOutcome.Failed => DeliveryPlan.Fail(request.FailureCode ?? "FAILED", after),
                    DeliveryOutcome.NeverReported => DeliveryPlan.NeverReport,
                    _ => DeliveryPlan.Deliver(after),
                };
                ScriptOf(emulator).For(mobile.E164, plan);
                return Results.NoContent();
            });

            group.MapPut("/_callbacks/{kind}", (string kind, CallbackRequest request) =>
            {
                if (request.Url is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
                    return Results.BadRequest(new { field = "url", error = "must be an absolute http(s) URL" });
                return emulator.Callbacks.TrySet(kind, request.Url)
                    ? Results.NoContent()
                    : Results.NotFound(new { field = "kind", error = $"{emulator.Vendor} sends no '{kind}' pushes; kinds: {string.Join(", ", emulator.Callbacks.Kinds)}" });
            });

            group.MapPost("/_faults", (FaultsRequest request) =>
            {
                var status = request.Status ?? EmulatorFaults.DefaultFailureStatus;
                if (request.FailNext is < 0) return Results.BadRequest(new { field = "failNext", error = "must not be negative" });
                if (request.DelayNext is < 0) return Results.BadRequest(new { field = "delayNext", error = "must not be negative" });
                if (request.DelayMs is < 0) return Results.BadRequest(new { field = "delayMs", error = "must not be negative" });
                if (request.Rate is { } rate && (double.IsNaN(rate) || rate is < 0 or > 1)) return Results.BadRequest(new { field = "rate", error = "must be between 0 and 1" });
                if (status is < 100 or > 599) return Results.BadRequest(new { field = "status", error = "must be an HTTP status code (100-599)" });
                var fault = request.Fault ?? EmulatorFault.Refuse;
                emulator.Faults.FailNextCalls(request.FailNext ?? 0, fault, status);
                emulator.Faults.FailShareOfCalls(request.Rate ?? 0, fault, status, request.Seed);
                emulator.Faults.DelayNextCalls(request.DelayNext ?? 0, TimeSpan.FromMilliseconds(request.DelayMs ?? 0));
                var pending = emulator.Faults.Pending;
                var kind = emulator.Faults.Kind;
                return Results.Ok(new
                {
                    failNext = pending.FailNext, status = pending.Status, fault = kind.Fault.ToString(), rate = kind.Rate,
                    delayNext = pending.DelayNext, delayMs = (long)pending.Delay.TotalMilliseconds,
                });
            });
        }

        routes.MapGet($"{prefix}/_requests", () => set.Requests.All);
        routes.MapGet($"{prefix}/_pushes", () => set.Pushes.Attempts);
        return routes;
    }

    private static DeliveryScript ScriptOf(IVendorEmulator emulator) => emulator is IScriptedEmulator scripted
        ? scripted.Script
        : throw new InvalidOperationException($"{emulator.Vendor} emulator has no delivery script");

    /// <summary>The emulator a path is for, and whether it is one of its <c>/_…</c> controls (the prefix itself may start with "_").</summary>
    private static IVendorEmulator? EmulatorOf(string path, string prefix, EmulatorSet set, out bool isControl)
    {
        isControl = false;
        if (!path.StartsWith(prefix + "/", StringComparison.Ordinal)) return null;
        var rest = path[(prefix.Length + 1)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? rest : rest[..slash];
        isControl = slash >= 0 && rest[(slash + 1)..].StartsWith('_');
        return set.All.FirstOrDefault(e => e.Vendor == first);
    }

    public sealed record ScriptRequest(DeliveryOutcome Outcome, int? AfterMs, string? FailureCode);

    /// <summary>Body of <c>PUT /_callbacks/{kind}</c>.</summary>
    public sealed record CallbackRequest(Uri? Url);

    /// <summary>
    /// Body of <c>POST /_faults</c>; every field optional (missing counts and rate are 0, the status 503, the fault
    /// <see cref="EmulatorFault.Refuse"/>). <see cref="Fault"/> and <see cref="Status"/> apply to the counted calls and to the random share.
    /// </summary>
    public sealed record FaultsRequest(int? FailNext, int? Status, int? DelayNext, int? DelayMs, EmulatorFault? Fault = null, double? Rate = null, int? Seed = null);
}

/// <summary>An emulator whose delivery outcomes a test can script per number.</summary>
public interface IScriptedEmulator
{
    DeliveryScript Script { get; }
}
