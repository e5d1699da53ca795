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

/// <summary>What every vendor emulator shares: time, the push sender and the request journal.</summary>
public sealed record EmulatorContext(EmulatorClock Clock, PushSender Pushes, RequestJournal Requests);

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
        var context = new EmulatorContext(Clock, Pushes, Requests);
        Yunpian = new YunpianEmulator(context);
        Tencent = new TencentEmulator(context);
        SendCloud = new SendCloudEmulator(context);
        Yaningai = new YaningaiEmulator(context);
        All = [Yunpian, Tencent, SendCloud, Yaningai];
    }

    public EmulatorClock Clock { get; }
    public RequestJournal Requests { get; }
    public PushSender Pushes { get; }
    public YunpianEmulator Yunpian { get; }
    public TencentEmulator Tencent { get; }
    public SendCloudEmulator SendCloud { get; }
    public YaningaiEmulator Yaningai { get; }
    public IReadOnlyList<IVendorEmulator> All { get; }

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
    /// Records every request under <paramref name="prefix"/> in the set's journal. Must run before the
    /// emulator endpoints (it buffers the body and rewinds it for them).
    /// </summary>
    public static IApplicationBuilder UseEmulatorRecording(this IApplicationBuilder app, EmulatorSet set, string prefix = "")
    {
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? string.Empty;
            var vendor = VendorOf(path, prefix, set);
            if (vendor is not null && !path.Contains("/_", StringComparison.Ordinal))
            {
                context.Request.EnableBuffering();
                using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
                var body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
                context.Request.Body.Position = 0;
                set.Requests.Add(new RecordedRequest(
                    vendor,
                    context.Request.Method,
                    path,
                    context.Request.QueryString.Value ?? string.Empty,
                    context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                    body,
                    set.Clock.Now));
            }
            await next(context).ConfigureAwait(false);
        });
    }

    /// <summary>
    /// Maps each emulator under <c>{prefix}/{vendor}</c>, plus the test/sandbox controls:
    /// <c>POST {prefix}/{vendor}/_handset/replies</c> {mobile, text, extend} and
    /// <c>PUT {prefix}/{vendor}/_script/{e164}</c> {outcome, afterMs, failureCode}.
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
        }

        routes.MapGet($"{prefix}/_requests", () => set.Requests.All);
        routes.MapGet($"{prefix}/_pushes", () => set.Pushes.Attempts);
        return routes;
    }

    private static DeliveryScript ScriptOf(IVendorEmulator emulator) => emulator is IScriptedEmulator scripted
        ? scripted.Script
        : throw new InvalidOperationException($"{emulator.Vendor} emulator has no delivery script");

    private static string? VendorOf(string path, string prefix, EmulatorSet set)
    {
        if (!path.StartsWith(prefix + "/", StringComparison.Ordinal)) return null;
        var rest = path[(prefix.Length + 1)..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? rest : rest[..slash];
        return set.All.FirstOrDefault(e => e.Vendor == first)?.Vendor;
    }

    public sealed record ScriptRequest(DeliveryOutcome Outcome, int? AfterMs, string? FailureCode);
}

/// <summary>An emulator whose delivery outcomes a test can script per number.</summary>
public interface IScriptedEmulator
{
    DeliveryScript Script { get; }
}
