using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Server.Tests.Samples;

namespace SmsActivities.Server.Tests.Persistence;

/// <summary>
/// The built server, as an operator starts it, pointed by <c>ConnectionStrings__Workflows</c> at an empty PostgreSQL
/// database: it creates both schemas, serves Studio and runs a sample, and its console (every level) shows no error,
/// in particular none from EF Core probing the not yet created migrations history.
/// </summary>
public sealed class PostgresFirstStartTests
{
    [Fact]
    public async Task A_first_start_on_an_empty_database_logs_no_error_and_writes_no_sqlite_file()
    {
        var database = await SmsActivities.Tests.Shared.PostgresServer.CreateDatabaseAsync("firststart");
        var data = Directory.CreateTempSubdirectory("smsactivities-firststart-").FullName;
        var started = DateTime.UtcNow;
        try
        {
            using var server = ServerProcess.Start(ServerProcess.FreePort(), data, StudioFiles.WorkflowsFolder, new Dictionary<string, string?>
            {
                ["ConnectionStrings:Workflows"] = database,
                ["Logging:LogLevel:Default"] = "Information",
            });
            using var http = await server.ClientWhenReadyAsync();
            await PostgresFootprint.AssertSchemaCreatedAsync(database);
            using (var studio = await http.GetAsync("studio/")) Assert.Equal(HttpStatusCode.OK, studio.StatusCode);

            // The OTP sample, end to end through the emulated vendor.
            const string mobile = "+8613800138091";
            using var sent = await http.PostAsJsonAsync("workflows/otp/send", new { mobile });
            Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
            var verifyUrl = JsonNode.Parse(await sent.Content.ReadAsStringAsync())!["verifyUrl"]!.GetValue<string>();
            var inbox = JsonNode.Parse(await http.GetStringAsync($"_emulators/_handset/{Uri.EscapeDataString(mobile)}/messages"))!.AsArray();
            var code = SandboxServer.CodeIn(Assert.Single(inbox)!["text"]!.GetValue<string>());
            using var verified = await http.PostAsJsonAsync(verifyUrl.TrimStart('/'), new { code });
            Assert.Equal(HttpStatusCode.OK, verified.StatusCode);

            var output = server.RecentOutput;
            Assert.Contains("Applying migration", output, StringComparison.Ordinal);
            var errors = output.Split('\n').Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal)).ToList();
            Assert.True(errors.Count == 0, "The first start logged errors:\n" + output);
            Assert.Empty(PostgresFootprint.SqliteFilesWrittenSince(started, data, server.ContentRoot));
        }
        finally
        {
            await SmsActivities.Tests.Shared.PostgresServer.DropDatabaseAsync(database);
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// A team that migrates in its pipeline and forgot to: the start stops with exit code 1 and one message naming the
    /// setting and the command to run, with no EF Core error from reading the history table that is not there yet.
    /// </summary>
    [Fact]
    public async Task With_MigrateOnStart_off_an_unmigrated_database_stops_the_start_with_a_message_and_no_EF_error()
    {
        var database = await SmsActivities.Tests.Shared.PostgresServer.CreateDatabaseAsync("nomigrate");
        var data = Directory.CreateTempSubdirectory("smsactivities-nomigrate-").FullName;
        try
        {
            using var server = ServerProcess.Start(ServerProcess.FreePort(), data, StudioFiles.WorkflowsFolder, new Dictionary<string, string?>
            {
                ["ConnectionStrings:Workflows"] = database,
                ["Database:MigrateOnStart"] = "false",
            });
            Assert.True(await server.ExitedWithinAsync(TimeSpan.FromMinutes(2)), "the server kept running on a database without its schema");
            var output = server.RecentOutput;
            Assert.True(server.ExitCode == 1, $"exit code {server.ExitCode}:\n{output}");
            var lines = output.Split('\n');
            Assert.Contains(lines, l => l.StartsWith("Database:MigrateOnStart is false", StringComparison.Ordinal)
                && l.Contains("dotnet ef database update", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.StartsWith("fail: Microsoft.EntityFrameworkCore", StringComparison.Ordinal));
            Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        }
        finally
        {
            await SmsActivities.Tests.Shared.PostgresServer.DropDatabaseAsync(database);
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
