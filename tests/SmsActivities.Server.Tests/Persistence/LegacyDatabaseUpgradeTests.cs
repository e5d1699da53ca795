using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.OptOut;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.Tests.Persistence;

/// <summary>
/// The SQLite files a server made before migrations existed (made by running that build in sandbox mode: an OTP sent
/// and waiting for its code (expired since), a campaign waiting for reports, a handset that answered STOP, a survey waiting for its
/// answer) are upgraded in place on start: no data lost, the waiting instances still resume (by their timers, which
/// have fallen due since).
/// </summary>
public sealed class LegacyDatabaseUpgradeTests
{
    private const string OtpInstance = "01a234593edc78088cd6bed0e9854d83";
    private const string SurveyInstance = "01a2345959c973428c129fafbe5950fe";

    [Fact]
    public async Task A_database_made_before_migrations_is_upgraded_in_place_and_its_waiting_instances_resume()
    {
        var data = Directory.CreateTempSubdirectory("smsactivities-legacy-").FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "legacy-sqlite"), "*.db"))
            File.Copy(file, Path.Combine(data, Path.GetFileName(file)));

        await using (var server = await ServerHost.StartAsync(new Dictionary<string, string?> { ["Server:DataDirectory"] = data }))
        {
            var instances = server.Services.GetRequiredService<WorkflowInstanceStore>();
            var otp = await instances.GetStateAsync(OtpInstance);
            // Its code expired long ago: kept, and its expiry timer may already have ended it.
            Assert.True(otp is { DefinitionId: "otp-sms" }, $"the OTP instance after the upgrade: {otp?.DefinitionId ?? "missing"}");
            Assert.True(await server.Services.GetRequiredService<OptOutList>().ContainsAsync("+8613800138022"), "the opt-out made before the upgrade is gone");

            // The survey's wait for an answer timed out while the old server was down: its timer, stored before the
            // upgrade, fires after it and the instance runs on to its result.
            using var http = server.CreateClient(withApiKey: false);
            string? result = null;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                using var answer = await http.GetAsync($"workflows/survey/{SurveyInstance}/result");
                if (answer.StatusCode == HttpStatusCode.OK && (result = await answer.Content.ReadAsStringAsync()).Contains("timedOut", StringComparison.Ordinal)) break;
                await Task.Delay(200);
            }
            Assert.True(result?.Contains("\"timedOut\":true", StringComparison.Ordinal) == true, $"the survey made before the upgrade answered: {result ?? "nothing"}");
        }

        SqliteConnection.ClearAllPools();
        Assert.Equal(["20261202012634_Initial", "20261202014458_DeliveryStimulusIndex", "20261202042735_HttpRouteKey", "20261202043135_AlterationPlans", "20261202073340_InstanceInput", "20261203044447_StimulusArrivalIndex", "20261205020050_StimulusInstance"], await ColumnAsync(Path.Combine(data, "smsactivities.db"), "SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId"));
        Assert.Empty(await ColumnAsync(Path.Combine(data, "smsactivities.db"), "SELECT name FROM sqlite_master WHERE name = 'SchemaVersion'"));
        string[] pluginMigrations = ["20261202013013_Initial", "20261202031105_InsightsRecords", "20261202044510_InsightCells", "20261202074003_PushInbox", "20261202195850_ReportWaits", "20261205173510_SendRecordPartialIndexes"];
        // The plug-in's own file was adopted and migrated where it lay, then its rows moved into the runtime's file (which
        // keeps the plug-in's migration history in a table of its own) and the file set aside.
        var main = Path.Combine(data, "smsactivities.db");
        var moved = Path.Combine(data, "sms.db.moved");
        Assert.False(File.Exists(Path.Combine(data, "sms.db")), "the plug-in's old file is still in place after its rows moved");
        Assert.Equal(pluginMigrations, await ColumnAsync(moved, "SELECT MigrationId FROM __EFMigrationsHistory ORDER BY MigrationId"));
        Assert.Equal(pluginMigrations, await ColumnAsync(main, "SELECT MigrationId FROM __SmsMigrationsHistory ORDER BY MigrationId"));
        // The later migrations ran on the adopted file: the insights columns, the delivery report and report wait tables are there.
        Assert.Single(await ColumnAsync(moved, "SELECT name FROM sqlite_master WHERE name = 'sms_delivery_reports'"));
        Assert.Single(await ColumnAsync(moved, "SELECT name FROM sqlite_master WHERE name = 'sms_report_waits'"));
        Assert.Equal(3L, long.Parse((await ColumnAsync(main, "SELECT COUNT(*) FROM sms_send_records WHERE Mobile LIKE '+861380013801%'")).Single(),
            System.Globalization.CultureInfo.InvariantCulture));
        // Every row came along (the OTP challenge too, which its expired instance has withdrawn since): the records, the
        // opt-outs, and the insights cells filled from the records at the migration (one count per SMS record).
        foreach (var table in new[] { "sms_send_records", "sms_opt_outs", "sms_insight_cells" })
            Assert.True((await ColumnAsync(moved, $"SELECT COUNT(*) FROM {table}")).SequenceEqual(await ColumnAsync(main, $"SELECT COUNT(*) FROM {table}")), $"{table} lost rows in the move");
        var records = (await ColumnAsync(main, "SELECT COUNT(*) FROM sms_send_records WHERE Mobile NOT LIKE '%@%'")).Single();
        var summed = (await ColumnAsync(main, "SELECT COALESCE(SUM(Count), 0) FROM sms_insight_cells")).Single();
        Assert.True(records == summed && records != "0", $"send records {records}, counted in the insights cells {summed}");
        try { Directory.Delete(data, recursive: true); } catch (IOException) { }
    }

    private static async Task<List<string>> ColumnAsync(string file, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={file};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) values.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        return values;
    }
}
