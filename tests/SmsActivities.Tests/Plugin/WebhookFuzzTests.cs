using System.Collections.Concurrent;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Benchmarks;
using SmsActivities.Vendors;

namespace SmsActivities.Tests.Plugin;

/// <summary>
/// Generated hostile pushes (see <see cref="WebhookFuzzer"/>) against every webhook reader the plug-in registers: the
/// bulk in-process through the readers themselves, a few thousand over loopback through the real endpoint. The
/// benchmark project's <c>--fuzz N</c> runs as many as wanted over HTTP against a running server.
/// </summary>
public sealed class WebhookFuzzTests
{
    [Fact]
    public async Task Every_reader_turns_100000_generated_pushes_into_events_or_a_4xx_with_a_reason_and_never_throws()
    {
        await using var bed = await PluginTestBed.StartAsync();
        var readers = bed.Services.GetServices<IWebhookReader>().ToDictionary(r => (r.Vendor, r.Kind));
        Assert.Equal(readers.Keys.Order(), WebhookFuzzer.Routes.Order());
        var fuzzer = WebhookFuzzer.ForSandbox();
        var outcomes = new ConcurrentDictionary<(string Vendor, string Kind, bool Valid), int>();

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100_000).WithQuietOnSuccess(true), Prop.ForAll(Arb.From(fuzzer.Cases), c =>
        {
            var read = readers[(c.Vendor, c.Kind)].Read(WebhookFuzzer.ToRequest(c));
            if (!read.IsValid && (read.RejectStatus is < 400 or >= 500 || string.IsNullOrWhiteSpace(read.Error)))
                throw new InvalidOperationException($"refused with {read.RejectStatus} '{read.Error}': {c}");
            outcomes.AddOrUpdate((c.Vendor, c.Kind, read.IsValid), 1, (_, n) => n + 1);
        }));

        Assert.Equal(100_000, outcomes.Values.Sum());
        // The generator is worth something only if each route sees both: pushes read (signatures right, shapes kept) and refused.
        foreach (var (vendor, kind) in WebhookFuzzer.Routes)
        {
            Assert.True(outcomes.GetValueOrDefault((vendor, kind, true)) > 100, $"{vendor}/{kind}: {outcomes.GetValueOrDefault((vendor, kind, true))} read");
            Assert.True(outcomes.GetValueOrDefault((vendor, kind, false)) > 100, $"{vendor}/{kind}: {outcomes.GetValueOrDefault((vendor, kind, false))} refused");
        }
    }

    [Fact]
    public async Task Two_thousand_generated_pushes_over_loopback_get_no_5xx_from_the_endpoint()
    {
        await using var bed = await PluginTestBed.StartAsync();

        var summary = await WebhookFuzzer.ForSandbox().RunOverHttpAsync(bed.Http, bed.BaseAddress, PluginTestBed.Token, count: 2_000, concurrency: 4);

        Assert.True(summary.ServerErrors == 0, summary + "\n" + string.Join('\n', summary.ServerErrorSamples));
        Assert.True(summary.ByStatus.GetValueOrDefault(200) > 200, summary.ToString());
        Assert.True(summary.ByStatus.Where(s => s.Key is >= 400 and < 500).Sum(s => s.Value) > 200, summary.ToString());
    }
}
