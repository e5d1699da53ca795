using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SmsActivities.Server.Tests.Infrastructure;
using static SmsActivities.Server.Tests.Infrastructure.ElsaFlows;

namespace SmsActivities.Server.Tests.Parity;

/// <summary>SendSms's send window (quiet hours) through the server, on a fake clock: held by a durable timer, sent when it opens.</summary>
public sealed class SendWindowTests : ServerTest
{
    // 22:00 in Shanghai on a Monday: after its 08:00-21:00 window, which opens again at 08:00 (00:00 UTC) on Tuesday.
    private static readonly DateTimeOffset Evening = new(2030, 1, 7, 14, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Evening);
    protected override Task<ServerHost> StartServerAsync() => ServerHost.StartAsync(configureServices: s => s.AddSingleton<TimeProvider>(_time));

    private static JsonObject Flow(string definitionId, string recipient, string window, string timeZone) => Flowchart(definitionId,
        [
            Act("Start1", "Elsa.Start"),
            Act("Send", "SmsActivities.SendSms", new JsonObject
            {
                ["recipients"] = Expr("Object", $"[\"{recipient}\"]"), ["text"] = Lit("Your parcel is on its way"),
                ["sendWindow"] = Lit(window), ["timeZone"] = Lit(timeZone),
            }),
            Act("Said", "Elsa.SetVariable", new JsonObject
            {
                ["variable"] = new JsonObject { ["id"] = "OutcomeId", ["name"] = "Outcome" },
                ["value"] = Js("'sent ' + getOutputFrom('Send', 'SentCount') + ' held until ' + getOutputFrom('Send', 'HeldUntil')"),
            }),
            Act("Refused", "Elsa.SetVariable", new JsonObject
            {
                ["variable"] = new JsonObject { ["id"] = "OutcomeId", ["name"] = "Outcome" }, ["value"] = Js("'failed: ' + getOutputFrom('Send', 'Error')"),
            }),
        ],
        [Conn("Start1", "Send"), Conn("Send", "Said", "Sent"), Conn("Send", "Refused", "Failed")], [Variable("Outcome", "String", "")]);

    private static string? Outcome(JsonObject instance) => instance["workflowState"]!["variables"]?["Outcome"]?.ToString();

    private async Task<JsonObject> RunAsync(JsonObject flow)
    {
        await PublishAsync(Client, flow);
        return await InstanceAsync(Client, await ExecuteAsync(Client, (string)flow["definitionId"]!));
    }

    [Fact]
    public async Task A_send_outside_its_window_waits_on_a_durable_timer_and_goes_out_when_the_window_opens()
    {
        var instance = await RunAsync(Flow("quiet-hours", "+8613800138001", "08:00-21:00", ""));
        Assert.True((string?)instance["subStatus"] == "Suspended", $"at 22:00 Shanghai time the send should wait; instance: {instance["subStatus"]}, outcome: {Outcome(instance)}");
        var bookmark = Assert.Single(instance["workflowState"]!["bookmarks"]!.AsArray());
        // The number's country gives the zone: 08:00 in Shanghai is 00:00 UTC.
        Assert.Equal("2030-01-08T00:00:00.0000000+00:00", (string?)bookmark!["payload"]!["heldUntil"]);
        var id = (string)instance["id"]!;

        _time.Advance(TimeSpan.FromHours(9) + TimeSpan.FromMinutes(59)); // 07:59 in Shanghai: still closed
        await Task.Delay(300);
        Assert.Equal("Suspended", (string?)(await InstanceAsync(Client, id))["subStatus"]);

        _time.Advance(TimeSpan.FromMinutes(2)); // 08:01
        var done = await WaitForAsync(id, i => (string?)i["subStatus"] == "Finished");
        Assert.StartsWith("sent 1 held until 2030-01-08", Outcome(done));
    }

    [Fact]
    public async Task A_send_inside_its_window_goes_out_at_once_in_the_given_time_zone()
    {
        // 14:00 UTC is 09:00 in New York: inside its window, whatever the (Chinese) number's own zone says.
        var instance = await RunAsync(Flow("open-window", "+8613800138002", "08:00-21:00", "America/New_York"));
        Assert.True((string?)instance["subStatus"] == "Finished", $"instance: {instance["subStatus"]}, outcome: {Outcome(instance)}");
        Assert.Equal("sent 1 held until null", Outcome(instance));
    }

    [Theory]
    [InlineData("8am to 9pm", "", "sendWindow: expected the local opening and closing times as HH:mm-HH:mm")]
    [InlineData("09:00-09:00", "", "sendWindow: the window opens and closes at the same time")]
    [InlineData("08:00-21:00", "Mars/Olympus", "timeZone: 'Mars/Olympus' is not a known IANA time zone")]
    public async Task A_bad_window_or_zone_is_refused_naming_the_field_and_the_rule(string window, string zone, string error)
    {
        var instance = await RunAsync(Flow("bad-window-" + Guid.NewGuid().ToString("N")[..6], "+8613800138003", window, zone));
        Assert.True((string?)instance["subStatus"] == "Finished", $"instance: {instance["subStatus"]}");
        Assert.StartsWith("failed: " + error, Outcome(instance));
    }

    private async Task<JsonObject> WaitForAsync(string instanceId, Func<JsonObject, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonObject last;
        while (!condition(last = await InstanceAsync(Client, instanceId)))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited 60 s; the instance is {last["subStatus"]}, outcome: {Outcome(last)}.");
            await Task.Delay(100);
        }
        return last;
    }
}
