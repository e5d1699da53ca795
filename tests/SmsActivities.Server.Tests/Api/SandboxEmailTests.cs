using System.Net;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;
using SmsActivities.Server.Tests.Samples;

namespace SmsActivities.Server.Tests.Api;

/// <summary>
/// Email in sandbox mode goes over real SMTP (STARTTLS and a login) to the server's own SMTP emulator, and the
/// recipient's mailbox shows it over HTTP, as a sandbox user reads it.
/// </summary>
public sealed class SandboxEmailTests
{
    [Fact]
    public async Task A_workflow_SendEmail_with_vendor_smtp_delivers_to_the_smtp_emulator_and_the_mailbox_api_shows_it()
    {
        await using var server = await ServerHost.StartAsync();
        using var client = server.CreateClient();

        // The designer's vendor drop-down offers the SMTP account the sandbox configured.
        var descriptors = JsonNode.Parse(await client.GetStringAsync("elsa/api/descriptors/activities"))!["items"]!.AsArray();
        var sendEmail = descriptors.Single(d => (string?)d!["typeName"] == "SmsActivities.SendEmail")!;
        var vendorInput = sendEmail["inputs"]!.AsArray().Single(i => (string?)i!["name"] == "Vendor")!;
        var choices = vendorInput["uiSpecifications"]!["dropdown"]!["selectList"]!["items"]!.AsArray().Select(i => (string?)i!["value"]).ToArray();
        Assert.Contains("smtp", choices);

        var model = EmailModel("Welcome mail", "smtp", "ann@example.com", "Welcome, Ann", "<p>Hello <b>Ann</b></p>", "Hello Ann");
        var definition = await ApiScenarios.SaveAsync(client, model, publish: true);
        var instanceId = await ApiScenarios.ExecuteAsync(client, (string)definition["definitionId"]!);

        var message = await MailboxAsync(client, "ann@example.com");
        Assert.Equal("Welcome, Ann", (string?)message["subject"]);
        Assert.Contains("<b>Ann</b>", (string?)message["htmlBody"], StringComparison.Ordinal);
        Assert.Contains("Hello Ann", (string?)message["textBody"], StringComparison.Ordinal);
        Assert.True((bool)message["tls"]!);
        Assert.Equal("sandbox", (string?)message["authenticatedAs"]);

        // The instance's send step reports the very Message-Id the mailbox shows.
        var instance = await SandboxServer.EventuallyAsync("the instance to finish", async () =>
        {
            var node = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-instances/{instanceId}"));
            return (string?)node!["subStatus"] == "Finished" ? node : null;
        });
        Assert.Contains((string)message["messageId"]!, instance.ToJsonString(), StringComparison.Ordinal);

        using var bad = await client.GetAsync("_emulators/_mailbox/not-an-address/messages");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("address", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_the_sandbox_drops_after_the_message_leaves_SendEmail_by_Unknown_with_the_address_in_doubt()
    {
        await using var server = await ServerHost.StartAsync();
        using var client = server.CreateClient();
        using var fault = await client.PostAsync("_emulators/_mailbox/_faults", JsonContent("""{"dropAfterData":1}"""));
        Assert.Equal(HttpStatusCode.OK, fault.StatusCode);
        using var bad = await client.PostAsync("_emulators/_mailbox/_faults", JsonContent("""{"dropAtRecipient":-1}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        var model = EmailModel("Dropped mail", "smtp", "dan@example.com", "Hi Dan", "<p>Hi</p>", "Hi");
        var definition = await ApiScenarios.SaveAsync(client, model, publish: true);
        var instanceId = await ApiScenarios.ExecuteAsync(client, (string)definition["definitionId"]!);

        // The emulator queued the message before it dropped the connection: the mailbox has it, the sender could not know.
        await MailboxAsync(client, "dan@example.com");
        var instance = await SandboxServer.EventuallyAsync("the instance to finish", async () =>
        {
            var node = JsonNode.Parse(await client.GetStringAsync($"elsa/api/workflow-instances/{instanceId}"));
            return (string?)node!["subStatus"] == "Finished" ? node : null;
        });
        var json = instance.ToJsonString();
        Assert.Contains("\"inDoubt\":true", json, StringComparison.Ordinal);
        Assert.Contains("\"InDoubtRecipients\":[\"dan@example.com\"]", json, StringComparison.Ordinal);
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private static async Task<JsonNode> MailboxAsync(HttpClient client, string address) => await SandboxServer.EventuallyAsync("the sent mail", async () =>
    {
        var mailbox = JsonNode.Parse(await client.GetStringAsync($"_emulators/_mailbox/{Uri.EscapeDataString(address)}/messages"))!.AsArray();
        return mailbox.Count > 0 ? mailbox.Single() : null;
    });

    /// <summary>Start → SendEmail, in Studio's JSON.</summary>
    private static JsonObject EmailModel(string name, string vendor, string to, string subject, string html, string text) => ApiScenarios.StartThen(name, new JsonObject
    {
        ["id"] = "SendEmail1", ["type"] = "SmsActivities.SendEmail", ["version"] = 1, ["name"] = "SendEmail1",
        ["vendor"] = ApiScenarios.Literal("String", vendor),
        ["to"] = ApiScenarios.Literal("Object", to),
        ["subject"] = ApiScenarios.Literal("String", subject),
        ["htmlContent"] = ApiScenarios.Literal("String", html),
        ["textContent"] = ApiScenarios.Literal("String", text),
    });
}
