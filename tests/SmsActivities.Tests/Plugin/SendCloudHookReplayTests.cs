using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Emulators.SendCloud;
using SmsActivities.OptOut;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Vendors.SendCloud;
using SmsActivities.Webhooks;

namespace SmsActivities.Tests.Plugin;

/// <summary>
/// SendCloud signs an SMSHook push over timestamp + token only, so a captured signature must not carry another body:
/// over loopback against the real endpoint, with the sandbox app key.
/// </summary>
public sealed class SendCloudHookReplayTests : IAsyncLifetime
{
    private const string Mobile = "+8613112345678";
    private PluginTestBed _bed = null!;

    public async Task InitializeAsync() => _bed = await PluginTestBed.StartAsync();

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    private static (string Timestamp, string Token, string Signature) Sign(DateTimeOffset at)
    {
        var timestamp = at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(25));
        return (timestamp, token, SendCloudSignature.SignHook(SendCloudEmulator.SandboxAppKey, timestamp, token));
    }

    private static string Reply(string content, (string Timestamp, string Token, string Signature) signed) =>
        $"event=reply&phone=13112345678&content={Uri.EscapeDataString(content)}&smsUser={SendCloudEmulator.SandboxSmsUser}" +
        $"&timestamp={signed.Timestamp}&token={signed.Token}&signature={signed.Signature}";

    private async Task<HttpResponseMessage> PushAsync(string form) =>
        await _bed.Http.PostAsync(_bed.WebhookUrl(VendorNames.SendCloud, "smshook"), new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded"));

    private Task<bool> OptedOutAsync() => _bed.Services.GetRequiredService<OptOutList>().ContainsAsync(Mobile);

    [Fact]
    public async Task A_forged_STOP_carried_by_a_captured_signature_is_refused_and_does_not_opt_the_number_out()
    {
        var captured = Sign(DateTimeOffset.UtcNow);
        using (var genuine = await PushAsync(Reply("see you at 5", captured)))
            Assert.Equal(HttpStatusCode.OK, genuine.StatusCode);

        using var forged = await PushAsync(Reply("STOP", captured));

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Contains("already used", await forged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(await OptedOutAsync());
    }

    [Fact]
    public async Task A_signature_captured_long_ago_is_refused_as_stale_and_does_not_opt_the_number_out()
    {
        using var answer = await PushAsync(Reply("STOP", Sign(new DateTimeOffset(2020, 3, 1, 8, 0, 0, TimeSpan.Zero))));

        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.Contains("timestamp", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(await OptedOutAsync());
    }

    [Fact]
    public async Task A_fresh_signed_STOP_opts_the_number_out_and_the_vendor_repeating_that_same_push_is_acknowledged()
    {
        var form = Reply("STOP", Sign(DateTimeOffset.UtcNow));

        using (var first = await PushAsync(form))
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        await _bed.InboxDrainedAsync();
        Assert.True(await OptedOutAsync());
        // SendCloud resends an unanswered push as it was: same token, same body. That is not a replay of another body.
        using var repeat = await PushAsync(form);
        Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
    }

    [Fact]
    public async Task A_used_signature_is_remembered_in_the_database_not_in_the_process()
    {
        var captured = Sign(DateTimeOffset.UtcNow);
        using (var genuine = await PushAsync(Reply("hello", captured)))
            Assert.Equal(HttpStatusCode.OK, genuine.StatusCode);

        // A second store over the same database, as after a restart or on another node.
        var afterRestart = new WebhookOneTimeKeyStore(_bed.Services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>(), TimeProvider.System);
        var key = new WebhookOneTimeKey("sendcloud:" + captured.Signature, DateTimeOffset.UtcNow.AddMinutes(10));

        Assert.False(await afterRestart.TryUseAsync(key, Encoding.UTF8.GetBytes(Reply("STOP", captured)), CancellationToken.None));
        Assert.True(await afterRestart.TryUseAsync(key, Encoding.UTF8.GetBytes(Reply("hello", captured)), CancellationToken.None));
    }

    [Fact]
    public async Task Used_signatures_are_dropped_once_their_window_has_closed()
    {
        await using var database = await TestDatabase.CreateAsync();
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var store = new WebhookOneTimeKeyStore(database.Factory, clock);
        Assert.True(await store.TryUseAsync(new WebhookOneTimeKey("sendcloud:old", clock.GetUtcNow().AddMinutes(10)), [1], CancellationToken.None));

        clock.Advance(TimeSpan.FromMinutes(11));
        Assert.True(await store.TryUseAsync(new WebhookOneTimeKey("sendcloud:new", clock.GetUtcNow().AddMinutes(10)), [2], CancellationToken.None));

        await using var db = await database.Factory.CreateDbContextAsync();
        Assert.Equal(["sendcloud:new"], await db.WebhookKeys.Select(k => k.Key).ToListAsync());
    }
}
