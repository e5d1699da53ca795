using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Vendors.Tests;
using Xunit.Abstractions;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// A push the inbox processor can never run is tried a bounded number of times, then set aside for good: kept with
/// its error, never due again, logged once (without the push's content) and counted in <c>sms.inbox.dead_lettered</c>
/// (only once the claim that sets it aside has committed: a claim that fails to end leaves the push to be run again);
/// an operator lists it and queues it again through the authenticated admin routes.
/// </summary>
public sealed class InboxDeadLetterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_push_that_keeps_failing_is_set_aside_after_the_maximum_attempts_logged_and_counted()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await StartAsync(maxAttempts: 3, logs);
        using var deadLettered = new DeadLetterCount(server);

        // Stored events no reader would write (a bug in an older version, a damaged row): they hold a number and a text.
        const string secretish = "+8613800138000 your code is 424242";
        var inbox = Path.Combine(server.DataDirectory, "sms-inbox.db");
        await using (var connection = new SqliteConnection($"Data Source={inbox};Default Timeout=60;Pooling=False"))
        {
            await connection.OpenAsync();
            await using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO sms_push_inbox (Events, ReceivedAtTicks, DueAtTicks, Attempts) VALUES ($events, 0, 0, 0)";
            insert.Parameters.AddWithValue("$events", "{\"replies\":[{\"mobile\":\"" + secretish + "\"");
            await insert.ExecuteNonQueryAsync();
        }

        await ServerProcess.EventuallyAsync(() => Task.FromResult(deadLettered.Value == 1), TimeSpan.FromSeconds(60), "the poison push to be set aside");
        // Long enough for several more attempts at the retry delay, had it not been set aside.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var (attempts, due, error) = await RowAsync(inbox);
        var lines = logs.Lines;
        output.WriteLine($"attempts {attempts}, due {due}, error {error}; log:{Environment.NewLine}{string.Join(Environment.NewLine, lines)}");
        Assert.Equal(3, attempts);
        Assert.Equal(DateTimeOffset.MaxValue.UtcTicks, due);
        Assert.Contains("JsonException", error, StringComparison.Ordinal);
        Assert.Equal(1, deadLettered.Value);
        Assert.Single(lines, l => l.Contains("set aside after 3 failed attempts", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("424242", StringComparison.Ordinal) || l.Contains("8613800138000", StringComparison.Ordinal));

        // The operator's path: the set-aside push is listed (its error, never its events) behind the API key, and queued again.
        using var anonymous = server.CreateClient(withApiKey: false);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/admin/inbox/dead-letters")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.PostAsync("/admin/inbox/dead-letters/1/retry", null)).StatusCode);
        using var admin = server.CreateClient();
        var listed = await admin.GetStringAsync("/admin/inbox/dead-letters");
        output.WriteLine(listed);
        var entry = Assert.Single(System.Text.Json.Nodes.JsonNode.Parse(listed)!.AsArray())!;
        Assert.Equal(3, entry["attempts"]!.GetValue<int>());
        Assert.Contains("JsonException", entry["error"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("424242", listed, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await admin.PostAsync("/admin/inbox/dead-letters/999/retry", null)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await admin.PostAsync($"/admin/inbox/dead-letters/{entry["id"]}/retry", null)).StatusCode);
        // Queued again with a fresh count, it fails its three attempts again and is set aside a second time.
        await ServerProcess.EventuallyAsync(() => Task.FromResult(deadLettered.Value == 2), TimeSpan.FromSeconds(60), "the retried push to be tried and set aside again");
        // Counted once the claim that set it aside has committed, so the row reads as set aside.
        Assert.Equal(3, (await RowAsync(inbox)).Attempts);
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task A_push_is_told_set_aside_only_once_the_claim_that_sets_it_aside_has_committed()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await StartAsync(maxAttempts: 1, logs);
        using var deadLettered = new DeadLetterCount(server);

        // The database refuses to set the row aside (as a full disk or a lost lock would fail the claim's end), until the trigger goes.
        var inbox = Path.Combine(server.DataDirectory, "sms-inbox.db");
        await ExecuteAsync(inbox, "CREATE TRIGGER refuse_set_aside BEFORE UPDATE ON sms_push_inbox WHEN NEW.DueAtTicks = "
                                  + DateTimeOffset.MaxValue.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture)
                                  + " BEGIN SELECT RAISE(ABORT, 'set-aside refused by the test'); END");
        await ExecuteAsync(inbox, "INSERT INTO sms_push_inbox (Events, ReceivedAtTicks, DueAtTicks, Attempts) VALUES ('{\"replies\":[', 0, 0, 0)");

        await ServerProcess.EventuallyAsync(() => Task.FromResult(logs.Lines.Count(l => l.Contains("Push inbox pass failed", StringComparison.Ordinal)) >= 3),
            TimeSpan.FromSeconds(60), "three passes to fail to set the push aside");
        // Each pass decided to set it aside and failed to commit: nothing is told, and the row is as it was.
        Assert.Equal(0, deadLettered.Value);
        Assert.DoesNotContain(logs.Lines, l => l.Contains("set aside after", StringComparison.Ordinal));
        Assert.Equal("0|0", await ScalarAsync(inbox, "SELECT Attempts || '|' || DueAtTicks FROM sms_push_inbox"));

        await ExecuteAsync(inbox, "DROP TRIGGER refuse_set_aside");
        await ServerProcess.EventuallyAsync(() => Task.FromResult(deadLettered.Value == 1), TimeSpan.FromSeconds(60), "the push to be set aside");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(1, deadLettered.Value);
        Assert.Single(logs.Lines, l => l.Contains("set aside after 1 failed attempts", StringComparison.Ordinal));
        var (attempts, due, _) = await RowAsync(inbox);
        Assert.Equal((1, DateTimeOffset.MaxValue.UtcTicks), (attempts, due));
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task Set_aside_pushes_are_listed_a_page_at_a_time_each_once_with_a_link_to_the_next_page()
    {
        await using var server = await ServerHost.StartAsync();
        var inbox = Path.Combine(server.DataDirectory, "sms-inbox.db");
        await using (var connection = new SqliteConnection($"Data Source={inbox};Default Timeout=60;Pooling=False"))
        {
            await connection.OpenAsync();
            for (var i = 0; i < 7; i++)
            {
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO sms_push_inbox (Events, ReceivedAtTicks, DueAtTicks, Attempts, Error) VALUES ('{}', 0, $due, 25, $error)";
                insert.Parameters.AddWithValue("$due", DateTimeOffset.MaxValue.UtcTicks);
                insert.Parameters.AddWithValue("$error", $"JsonException {i}");
                await insert.ExecuteNonQueryAsync();
            }
        }
        using var admin = server.CreateClient();

        var ids = new List<long>();
        var pages = new List<int>();
        string? next = "/admin/inbox/dead-letters?limit=3";
        while (next is not null)
        {
            using var response = await admin.GetAsync(next);
            response.EnsureSuccessStatusCode();
            var page = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
            pages.Add(page.Count);
            ids.AddRange(page.Select(e => e!["id"]!.GetValue<long>()));
            next = response.Headers.TryGetValues("Link", out var links)
                ? System.Text.RegularExpressions.Regex.Match(links.Single(), "^<([^>]+)>; rel=\"next\"$").Groups[1].Value
                : null;
        }
        Assert.Equal([3, 3, 1], pages);
        Assert.Equal(7, ids.Distinct().Count());
        Assert.True(ids.SequenceEqual(ids.Order()), string.Join(", ", ids));
        // Without a limit the first page holds them all (up to 500), with no next link.
        using (var all = await admin.GetAsync("/admin/inbox/dead-letters"))
        {
            Assert.Equal(7, System.Text.Json.Nodes.JsonNode.Parse(await all.Content.ReadAsStringAsync())!.AsArray().Count);
            Assert.False(all.Headers.Contains("Link"));
        }
        // After the last id there is nothing; a limit out of range is refused, naming it.
        Assert.Equal("[]", await admin.GetStringAsync($"/admin/inbox/dead-letters?after={ids[^1]}"));
        foreach (var bad in new[] { "limit=0", "limit=501", "after=-1" })
        {
            using var refused = await admin.GetAsync("/admin/inbox/dead-letters?" + bad);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(bad[..bad.IndexOf('=')] + ":", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task Set_aside_pushes_are_purged_after_their_retention_while_younger_ones_stay_listed_and_can_be_queued_again()
    {
        await using var server = await ServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["SmsActivities:Retention:DeadLetteredPushes"] = "1.00:00:00",
            ["SmsActivities:Retention:Interval"] = "00:00:01",
        });
        var inbox = Path.Combine(server.DataDirectory, "sms-inbox.db");
        var now = DateTimeOffset.UtcNow;
        await using (var connection = new SqliteConnection($"Data Source={inbox};Default Timeout=60;Pooling=False"))
        {
            await connection.OpenAsync();
            foreach (var (age, name) in new[] { (TimeSpan.FromDays(3), "old"), (TimeSpan.FromHours(25), "past its day"), (TimeSpan.FromHours(1), "young") })
            {
                await using var insert = connection.CreateCommand();
                insert.CommandText = "INSERT INTO sms_push_inbox (Events, ReceivedAtTicks, DueAtTicks, Attempts, Error) VALUES ('{}', $received, $due, 25, $error)";
                insert.Parameters.AddWithValue("$received", (now - age).UtcTicks);
                insert.Parameters.AddWithValue("$due", DateTimeOffset.MaxValue.UtcTicks);
                insert.Parameters.AddWithValue("$error", "JsonException " + name);
                await insert.ExecuteNonQueryAsync();
            }
        }
        using var admin = server.CreateClient();

        // The retention runs every second here: the two set aside over a day ago go, the young one stays.
        var listed = new System.Text.Json.Nodes.JsonArray();
        await ServerProcess.EventuallyAsync(async () =>
            (listed = System.Text.Json.Nodes.JsonNode.Parse(await admin.GetStringAsync("/admin/inbox/dead-letters"))!.AsArray()).Count == 1,
            TimeSpan.FromSeconds(60), "the set-aside pushes past their retention to be purged");
        var young = Assert.Single(listed)!;
        Assert.Equal("JsonException young", young["error"]!.GetValue<string>());
        Assert.Equal(System.Net.HttpStatusCode.Accepted, (await admin.PostAsync($"/admin/inbox/dead-letters/{young["id"]}/retry", null)).StatusCode);
        // Queued again, its (empty) events are processed and the row is gone; nothing is left set aside.
        await ServerProcess.EventuallyAsync(async () => await admin.GetStringAsync("/admin/inbox/dead-letters") == "[]", TimeSpan.FromSeconds(60), "the queued push to be processed");
        SqliteConnection.ClearAllPools();
    }

    /// <summary>The server with a push tried every 50 ms, given up after <paramref name="maxAttempts"/> failures, and its log captured.</summary>
    private static Task<ServerHost> StartAsync(int maxAttempts, CapturingLoggerProvider logs) =>
        ServerHost.StartAsync(new Dictionary<string, string?>
        {
            ["SmsActivities:Inbox:MaxAttempts"] = maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SmsActivities:Inbox:RetryDelay"] = "00:00:00.050",
            ["SmsActivities:Inbox:PollInterval"] = "00:00:00.100",
        }, services => services.AddSingleton<ILoggerProvider>(logs));

    /// <summary>The server's <c>sms.inbox.dead_lettered</c> counter, summed from now on.</summary>
    private sealed class DeadLetterCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _value;

        public DeadLetterCount(ServerHost server)
        {
            var meters = server.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "sms.inbox.dead_lettered") l.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _value, value));
            _listener.Start();
        }

        public long Value => Interlocked.Read(ref _value);

        public void Dispose() => _listener.Dispose();
    }

    private static async Task<(long Attempts, long Due, string Error)> RowAsync(string file)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Default Timeout=60;Pooling=False");
        await connection.OpenAsync();
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT Attempts, DueAtTicks, Error FROM sms_push_inbox";
        await using var reader = await select.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), "the poison row is kept");
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2));
    }

    private static async Task<string?> ScalarAsync(string file, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Default Timeout=60;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (await command.ExecuteScalarAsync())?.ToString();
    }

    private static Task ExecuteAsync(string file, string sql) => ScalarAsync(file, sql);
}
