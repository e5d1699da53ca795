using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmsActivities.Hosting;
using SmsActivities.Server.Tests.Samples;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// A flood of pushes about nothing this server sent (delivery reports of unknown messages, replies from unknown
/// numbers) waits in the runtime's inbox only <c>SmsActivities:Retention:UnmatchedEvents</c>, not the whole inbox
/// retention; the reports of a real campaign, which a wait may still claim, keep the inbox retention.
/// </summary>
public sealed class UnmatchedEventRetentionTests(ITestOutputHelper output)
{
    private const int Pushes = 40;
    private const int ReportsPerPush = 50;
    private const int Replies = 100;

    [Fact]
    public async Task Pushes_about_no_sent_message_are_purged_after_the_short_retention_and_a_campaigns_reports_are_kept()
    {
        await using var server = await SandboxServer.StartAsync(new Dictionary<string, string?> { ["SmsActivities:Retention:UnmatchedEvents"] = "00:10:00" });
        var database = Path.Combine(server.DataDirectory, "smsactivities.db");
        var token = server.Services.GetRequiredService<IOptions<SmsActivitiesOptions>>().Value.Webhooks.Token;

        var campaign = Enumerable.Range(0, 5).Select(i => $"+86138003900{i:D2}").ToArray();
        var (started, _) = await server.PostAsync("workflows/campaign", new { recipients = campaign, text = "Winter sale: 30% off." });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);

        // Reports of messages nobody sent, the way a fuzzer or a misrouted vendor account pushes them, and replies.
        await Parallel.ForEachAsync(Enumerable.Range(0, Pushes), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (push, ct) =>
        {
            var body = JsonSerializer.Serialize(Enumerable.Range(0, ReportsPerPush).Select(i => new Dictionary<string, string>
            {
                ["user_receive_time"] = "2026-11-21 10:00:00", ["nationcode"] = "86", ["mobile"] = $"139{push:D3}{i:D5}", ["report_status"] = "FAIL",
                ["errmsg"] = "UNDELIV", ["description"] = "unknown", ["sid"] = $"foreign-{push}-{i}",
            }));
            using var answer = await server.Http.PostAsync($"webhooks/sms/tencent/status/{token}", new StringContent(body, Encoding.UTF8, "application/json"), ct);
            Assert.True(answer.IsSuccessStatusCode, $"push {push} answered {(int)answer.StatusCode}");
        });
        for (var i = 0; i < Replies; i++)
        {
            using var reply = await server.Http.PostAsync("_emulators/tencent/_handset/replies",
                new StringContent(JsonSerializer.Serialize(new { mobile = $"+86137{10_000_000 + i}", text = $"hello {i}" }), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, reply.StatusCode);
        }
        // The stimuli that wait for a WaitForDeliveryReport or a WaitForReply (the trigger variants that started a sample's
        // workflow matched something, and are kept like any matched stimulus).
        const string foreign = "(\"DedupeKey\" LIKE 'report:tencent:foreign-%' AND \"DedupeKey\" NOT LIKE '%:trigger:%') OR \"DedupeKey\" LIKE 'reply:tencent:%:wait:%'";
        // A campaign's report is stored once, for the wait on its send (the one under its message id is kept only for a
        // wait by message ids).
        const string campaignReports = "\"DedupeKey\" LIKE 'report:yunpian:%:send:%'";
        await SandboxServer.EventuallyAsync("every push and the campaign's reports to be stored", async () =>
            await CountAsync(database, "SELECT COUNT(*) FROM Stimuli WHERE \"DedupeKey\" LIKE 'report:tencent:foreign-%' AND \"DedupeKey\" NOT LIKE '%:trigger:%'") == Pushes * ReportsPerPush
            && await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {campaignReports}") == campaign.Length ? "" : null, TimeSpan.FromSeconds(120));
        await SandboxServer.EventuallyAsync("the replies to be stored", async () =>
            await CountAsync(database, "SELECT COUNT(*) FROM Stimuli WHERE \"DedupeKey\" LIKE 'reply:tencent:%:wait:%'") >= Replies ? "" : null, TimeSpan.FromSeconds(60));

        var before = (Rows: await CountAsync(database, "SELECT COUNT(*) FROM Stimuli"), Foreign: await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {foreign}"),
            Bytes: await StimuliBytesAsync(database));
        // Each kept for the short retention, the campaign's reports for the inbox retention (24 h).
        Assert.Equal(TimeSpan.FromMinutes(10).TotalMilliseconds, await CountAsync(database, $"SELECT MAX(\"ExpiresAt\" - \"ReceivedAt\") FROM Stimuli WHERE {foreign}"));
        Assert.Equal(TimeSpan.FromHours(24).TotalMilliseconds, await CountAsync(database, $"SELECT MIN(\"ExpiresAt\" - \"ReceivedAt\") FROM Stimuli WHERE {campaignReports}"));

        server.Time.Advance(TimeSpan.FromMinutes(11));
        await SandboxServer.EventuallyAsync("the foreign pushes to be purged", async () =>
            await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {foreign}") == 0 ? "" : null, TimeSpan.FromSeconds(60));
        var after = (Rows: await CountAsync(database, "SELECT COUNT(*) FROM Stimuli"), Bytes: await StimuliBytesAsync(database));
        output.WriteLine($"stimuli before the purge: {before.Rows} rows ({before.Foreign} about no sent message), {before.Bytes:N0} bytes of stored columns; "
                         + $"after: {after.Rows} rows, {after.Bytes:N0} bytes; database file and write-ahead log {FileBytes(database):N0} bytes");
        Assert.Equal(campaign.Length, await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {campaignReports}"));
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task Pushes_about_no_sent_message_beyond_the_count_cap_are_dropped_oldest_first_and_a_campaigns_reports_are_kept()
    {
        const int cap = 100;
        await using var server = await SandboxServer.StartAsync(new Dictionary<string, string?> { ["Workflows:Runtime:MaxUnmatchedStimuli"] = cap.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var database = Path.Combine(server.DataDirectory, "smsactivities.db");
        var token = server.Services.GetRequiredService<IOptions<SmsActivitiesOptions>>().Value.Webhooks.Token;
        var campaign = Enumerable.Range(0, 5).Select(i => $"+86138003901{i:D2}").ToArray();
        var (started, _) = await server.PostAsync("workflows/campaign", new { recipients = campaign, text = "Winter sale: 30% off." });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);

        var inbox = Path.Combine(server.DataDirectory, "sms-inbox.db");
        // One push after another, each a moment later: well within the 10-minute retention, five times the cap.
        const int pushes = 10;
        for (var push = 0; push < pushes; push++)
        {
            var body = JsonSerializer.Serialize(Enumerable.Range(0, ReportsPerPush).Select(i => new Dictionary<string, string>
            {
                ["user_receive_time"] = "2026-11-21 10:00:00", ["nationcode"] = "86", ["mobile"] = $"139{push:D3}{i:D5}", ["report_status"] = "FAIL",
                ["errmsg"] = "UNDELIV", ["description"] = "unknown", ["sid"] = $"flood-{push}-{i}",
            }));
            using var answer = await server.Http.PostAsync($"webhooks/sms/tencent/status/{token}", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True(answer.IsSuccessStatusCode, $"push {push} answered {(int)answer.StatusCode}");
            // Each push stored before the next: the inbox processor runs pushes that wait together as one batch, whose
            // events arrive at one instant, and the cap drops ties at its cut together.
            await SandboxServer.EventuallyAsync($"push {push} to be processed", async () =>
                await CountAsync(inbox, "SELECT COUNT(*) FROM sms_push_inbox") == 0 ? "" : null, TimeSpan.FromSeconds(60));
            await Task.Delay(20);
        }
        const string flood = "\"DedupeKey\" LIKE 'report:tencent:flood-%' AND \"DedupeKey\" NOT LIKE '%:trigger:%'";
        const string campaignReports = "\"DedupeKey\" LIKE 'report:yunpian:%:send:%'";
        await SandboxServer.EventuallyAsync("every push to be processed and the campaign's reports stored", async () =>
            await CountAsync(inbox, "SELECT COUNT(*) FROM sms_push_inbox") == 0 && await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {campaignReports}") == campaign.Length
                ? "" : null, TimeSpan.FromSeconds(120));

        // The cap is checked every 10 s: past the next check, what is left of the flood is at most the cap, and the newest.
        server.Time.Advance(TimeSpan.FromSeconds(11));
        await SandboxServer.EventuallyAsync("the flood to be cut to the cap", async () =>
            await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {flood}") <= cap ? "" : null, TimeSpan.FromSeconds(60));
        var left = await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {flood}");
        var newestLeft = await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {flood} AND \"DedupeKey\" LIKE 'report:tencent:flood-{pushes - 1}-%'");
        output.WriteLine($"{left} of {pushes * ReportsPerPush} unmatched reports left under the cap of {cap}");
        Assert.True(left > 0 && newestLeft == ReportsPerPush, $"{left} left, {newestLeft} of the newest push");
        Assert.Equal(0, await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {flood} AND \"DedupeKey\" LIKE 'report:tencent:flood-0-%'"));
        Assert.Equal(campaign.Length, await CountAsync(database, $"SELECT COUNT(*) FROM Stimuli WHERE {campaignReports}"));
        SqliteConnection.ClearAllPools();
    }

    private static long FileBytes(string database) => new[] { database, database + "-wal" }.Where(File.Exists).Sum(f => new FileInfo(f).Length);

    private static async Task<long> CountAsync(string file, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Default Timeout=60;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync() ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>What the stimulus rows hold: the sum of their stored columns' lengths.</summary>
    private static Task<long> StimuliBytesAsync(string file) => CountAsync(file,
        "SELECT COALESCE(SUM(LENGTH(Id) + LENGTH(Name) + LENGTH(Hash) + COALESCE(LENGTH(PayloadJson), 0) + COALESCE(LENGTH(InputJson), 0) + COALESCE(LENGTH(DedupeKey), 0) + 16), 0) FROM Stimuli");
}
