using System.Text;
using Microsoft.Data.Sqlite;

namespace SmsActivities.Tests.Plugin;

public sealed class IngestionTests
{
    [Fact]
    public async Task A_push_of_reports_nobody_triggers_on_stores_one_inbox_entry_per_report_and_a_repeat_of_it_changes_nothing()
    {
        await using var bed = await PluginTestBed.StartAsync();
        var push = "[" + string.Join(',', Enumerable.Range(1, 3).Select(i =>
            $$"""{"user_receive_time":"2026-11-21 10:00:00","nationcode":"86","mobile":"1380013800{{i}}","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"batch-sid-{{i}}"}""")) + "]";

        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var answer = await bed.Http.PostAsync(bed.WebhookUrl("tencent", "status"), new StringContent(push, Encoding.UTF8, "application/json"));
            Assert.Equal("""{"result":0,"errmsg":"OK"}""", await answer.Content.ReadAsStringAsync());
        }
        await bed.InboxDrainedAsync();

        // Each report's WaitForDeliveryReport variant waits in the inbox for its bookmark; the four trigger variants
        // matched no DeliveryReportReceived trigger, did nothing and are not stored.
        var stored = new List<string>();
        await using (var connection = new SqliteConnection($"Data Source={bed.RuntimeDatabasePath};Mode=ReadOnly;Pooling=False"))
        {
            await connection.OpenAsync();
            await using var select = connection.CreateCommand();
            select.CommandText = "SELECT DedupeKey FROM Stimuli";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync()) stored.Add(reader.GetString(0));
        }
        Assert.Equal(["report:tencent:batch-sid-1:Delivered", "report:tencent:batch-sid-2:Delivered", "report:tencent:batch-sid-3:Delivered"], stored.Order());
    }

    [Fact]
    public async Task Request_logging_stays_on_for_webhooks_with_the_path_token_masked_in_request_lines_and_scopes()
    {
        await using var bed = await PluginTestBed.StartAsync();
        var push = """[{"nationcode":"86","mobile":"13800138001","report_status":"SUCCESS","errmsg":"DELIVRD","sid":"log-sid-1"}]""";

        using (var answer = await bed.Http.PostAsync(bed.WebhookUrl("tencent", "status"), new StringContent(push, Encoding.UTF8, "application/json")))
            answer.EnsureSuccessStatusCode();

        // The host's request logging is not turned down: the line and the request scope are there, token masked.
        // "Request finished" is logged after the response went out, so the client can read the answer first.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!bed.Logs.Lines.Any(l => l.Contains("Request finished", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        var lines = bed.Logs.Lines;
        Assert.Contains(lines, l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains("tencent/status/***", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Scope ", StringComparison.Ordinal) && l.Contains("tencent/status/***", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Request finished", StringComparison.Ordinal));
        Assert.DoesNotContain(PluginTestBed.Token, bed.Logs.All, StringComparison.Ordinal);
        // The host's own filters still apply through the wrapper: the bed logs from Information up.
        Assert.DoesNotContain(lines, l => l.StartsWith("Debug ", StringComparison.Ordinal) || l.StartsWith("Trace ", StringComparison.Ordinal));
    }
}
