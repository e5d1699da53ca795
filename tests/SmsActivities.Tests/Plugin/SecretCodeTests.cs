using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Tests.Shared;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Tests.Plugin;

/// <summary>The code a user types is secret: the sample OTP workflow verifies it, and the runtime's database never holds it.</summary>
public sealed partial class SecretCodeTests
{
    private const string Mobile = "13800138001";

    [Fact]
    public async Task The_sample_otp_workflow_verifies_the_typed_code_and_no_table_of_the_runtime_database_holds_it()
    {
        await using var bed = await PluginTestBed.StartAsync();
        var sample = WorkflowJson.Deserialize(await File.ReadAllTextAsync(SamplePath("otp-sms.json")));
        Assert.Empty((await bed.Services.GetRequiredService<WorkflowDefinitionService>().SaveAsync(sample, publish: true)).ValidationErrors);

        using var sent = await bed.Http.PostAsJsonAsync(new Uri(bed.BaseAddress, "workflows/otp/send"), new { mobile = Mobile });
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var verifyUrl = new Uri(bed.BaseAddress, JsonNode.Parse(await sent.Content.ReadAsStringAsync())!["verifyUrl"]!.GetValue<string>().TrimStart('/'));
        var text = bed.Emulators.Set.Yunpian.Sent.Select(s => s.Text).Concat(bed.Tencent.Sent.Select(s => s.Text)).Single();
        var code = SixDigits().Match(text).Value;
        var wrong = code == "917353" ? "917354" : "917353";

        using var invalid = await bed.Http.PostAsJsonAsync(verifyUrl, new { code = wrong });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        using var valid = await bed.Http.PostAsJsonAsync(verifyUrl, new { code });
        Assert.Equal(HttpStatusCode.OK, valid.StatusCode);
        Assert.Equal("Valid", JsonNode.Parse(await valid.Content.ReadAsStringAsync())!["result"]!.GetValue<string>());

        await bed.App.StopAsync();
        SqliteConnection.ClearAllPools();
        var stored = await SqliteText.AllTablesAsync(bed.RuntimeDatabasePath);
        Assert.Contains("otp-sms", stored, StringComparison.Ordinal);
        Assert.Contains("******", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(code, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, stored, StringComparison.Ordinal);
        Assert.DoesNotContain(code, bed.Logs.All, StringComparison.Ordinal);
    }

    /// <summary>The repository's workflows/ folder, found upwards from the test binaries.</summary>
    private static string SamplePath(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "workflows", name);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"workflows/{name} not found above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"\d{6}")]
    private static partial Regex SixDigits();
}
