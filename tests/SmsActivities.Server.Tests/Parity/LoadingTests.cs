using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Parity;

/// <summary>A bad definition file or a refused import is reported, naming the file and each problem, and stops nothing else.</summary>
public sealed class LoadingTests
{
    private static JsonObject Broken(string definitionId) => Flowchart(definitionId,
        [Act("Start1", "Elsa.Start"), Act("Mystery", "Acme.DoesNotExist"), Act("Hello", "Elsa.WriteLine", new JsonObject { ["text"] = Lit("hi") })],
        [Conn("Start1", "Hello"), Conn("Hello", "Nowhere")]);

    [Fact]
    public async Task A_bad_workflow_file_is_skipped_naming_every_problem_and_health_is_degraded()
    {
        var folder = Directory.CreateTempSubdirectory("workflows-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "good.json"), Flowchart("good", [Act("Start1", "Elsa.Start")], []).ToJsonString());
            await File.WriteAllTextAsync(Path.Combine(folder, "broken.json"), Broken("broken").ToJsonString());
            await File.WriteAllTextAsync(Path.Combine(folder, "garbled.json"), "{ not json");
            await using var server = await ServerHost.StartAsync(new Dictionary<string, string?> { ["Server:WorkflowsFolder"] = folder });
            using var client = server.CreateClient();

            var health = JsonNode.Parse(await client.GetStringAsync("health"))!;
            Assert.Equal("Degraded", (string?)health["status"]);
            Assert.Equal("Degraded", (string?)health["checks"]!["workflows"]);
            var problems = health["problems"]!["workflows"]!;
            Assert.Contains("broken.json", (string)problems["description"]!);
            Assert.Contains("garbled.json", (string)problems["description"]!);
            var broken = (string)problems["data"]!["broken.json"]!;
            Assert.Contains("unknown activity type 'Acme.DoesNotExist'", broken);
            Assert.Contains("'Nowhere', which does not exist", broken);

            var good = JsonNode.Parse(await client.GetStringAsync("elsa/api/workflow-definitions/by-definition-id/good?versionOptions=Published"))!;
            Assert.True((bool)good["isPublished"]!);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_refused_import_or_publish_answers_400_with_each_validation_error()
    {
        await using var server = await ServerHost.StartAsync();
        using var client = server.CreateClient();

        var import = Broken("refused-import");
        import["isPublished"] = true;
        using var imported = await client.PostAsJsonAsync("elsa/api/workflow-definitions/import", import);
        Assert.Equal(HttpStatusCode.BadRequest, imported.StatusCode);
        var errors = JsonNode.Parse(await imported.Content.ReadAsStringAsync())!["validationErrors"]!.AsArray().Select(e => (string)e!["errorMessage"]!).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Contains("Acme.DoesNotExist"));

        using var published = await client.PostAsJsonAsync("elsa/api/workflow-definitions", new JsonObject { ["model"] = Broken("refused-publish"), ["publish"] = true });
        Assert.Equal(HttpStatusCode.BadRequest, published.StatusCode);
        Assert.Equal(2, JsonNode.Parse(await published.Content.ReadAsStringAsync())!["validationErrors"]!.AsArray().Count);
    }
}
