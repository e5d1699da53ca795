using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Hosting;
using SmsActivities.Workflows.Runtime;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// HTTP endpoints are found by an indexed route key (method, segment count, literal prefix) rather than by reading every
/// HTTP payload: requests must still reach the right template, parameters included, and rows stored before the key
/// existed must be keyed on start.
/// </summary>
public class HttpRouteIndexTests
{
    [Fact]
    public async Task Requests_reach_the_most_specific_template_with_route_parameters_wherever_they_stand()
    {
        using var db = new TempDatabase();
        await using var app = await StartAsync(db.Path);
        var definitions = app.Services.GetRequiredService<WorkflowDefinitionService>();
        await PublishEchoAsync(definitions, "by-id", "orders/{id}", "POST", "({ route: 'by-id', id: getOutputFrom('Http1','RouteData').id })");
        await PublishEchoAsync(definitions, "special", "orders/special", "POST", "({ route: 'special' })");
        await PublishEchoAsync(definitions, "tenant", "{tenant}/items/{id}", "GET",
            "({ route: 'tenant', tenant: getOutputFrom('Http1','RouteData').tenant, id: getOutputFrom('Http1','RouteData').id })");
        await PublishEchoAsync(definitions, "inner", "a/b/{c}/d", "GET", "({ route: 'inner', c: getOutputFrom('Http1','RouteData').c })");
        var client = app.GetTestClient();

        Assert.Equal("""{"route":"by-id","id":"42"}""", await AnswerAsync(client, HttpMethod.Post, "/workflows/orders/42"));
        Assert.Equal("""{"route":"special"}""", await AnswerAsync(client, HttpMethod.Post, "/workflows/ORDERS/Special"));
        Assert.Equal("""{"route":"tenant","tenant":"acme","id":"7"}""", await AnswerAsync(client, HttpMethod.Get, "/workflows/acme/items/7"));
        Assert.Equal("""{"route":"inner","c":"x y"}""", await AnswerAsync(client, HttpMethod.Get, "/workflows/a/b/x%20y/d"));
        foreach (var (method, path) in new[] { (HttpMethod.Get, "/workflows/orders/42"), (HttpMethod.Get, "/workflows/a/b/x"), (HttpMethod.Get, "/workflows/a/b/x/d/e"),
                     (HttpMethod.Post, "/workflows/orders"), (HttpMethod.Get, "/workflows/acme/things/7") })
        {
            var response = await client.SendAsync(new HttpRequestMessage(method, path));
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path}: expected 404, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        await app.StopAsync();
    }

    [Fact]
    public async Task Http_bookmarks_and_triggers_stored_without_a_route_key_are_keyed_on_start_and_still_answer()
    {
        using var db = new TempDatabase();
        await using (var first = await StartAsync(db.Path))
        {
            var definitions = first.Services.GetRequiredService<WorkflowDefinitionService>();
            await PublishEchoAsync(definitions, "start", "orders/{id}", "POST", "({ id: getOutputFrom('Http1','RouteData').id })");
            await definitions.SaveAsync(TestHost.Flowchart("confirm",
                Arr(Act("Start1", "Elsa.Start"),
                    Act("Wait", "Elsa.HttpEndpoint", $"\"path\":{Js("'confirm/' + getInput('code') + '/{answer}'")}"),
                    Act("Reply", "Elsa.WriteHttpResponse", $"\"content\":{Js("getOutputFrom('Wait','RouteData').answer")}")),
                Arr(Conn("Start1", "Wait"), Conn("Wait", "Reply"))), publish: true);
            var waiting = await first.Services.GetRequiredService<WorkflowRuntime>().StartAsync("confirm",
                new StartWorkflowRequest { Input = new Dictionary<string, object?> { ["code"] = "abc" } });
            Assert.Equal(WorkflowSubStatus.Suspended, waiting.SubStatus);
            await first.StopAsync();
        }
        // As a database migrated from a build without route keys has them.
        Assert.Equal(1, await ExecuteAsync(db.Path, "UPDATE Bookmarks SET RouteKey = NULL WHERE RouteKey IS NOT NULL"));
        Assert.Equal(1, await ExecuteAsync(db.Path, "UPDATE Triggers SET RouteKey = NULL WHERE RouteKey IS NOT NULL"));

        await using var app = await StartAsync(db.Path);
        var client = app.GetTestClient();
        Assert.Equal("""{"id":"9"}""", await AnswerAsync(client, HttpMethod.Post, "/workflows/orders/9"));
        Assert.Equal("yes", await AnswerAsync(client, HttpMethod.Get, "/workflows/confirm/abc/yes"));
        await app.StopAsync();
    }

    private static async Task<WebApplication> StartAsync(string path)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddWorkflowRuntime(o => o.UseSqlite(path));
        var app = builder.Build();
        app.MapWorkflowHttpEndpoints("/workflows");
        await app.StartAsync();
        return app;
    }

    private static async Task PublishEchoAsync(WorkflowDefinitionService definitions, string id, string template, string method, string answer)
    {
        var save = await definitions.SaveAsync(TestHost.Flowchart(id,
            Arr(Act("Http1", "Elsa.HttpEndpoint",
                    $"\"path\":{Lit(template)},\"supportedMethods\":{{\"typeName\":\"String[]\",\"expression\":{{\"type\":\"Object\",\"value\":\"[\\\"{method}\\\"]\"}}}},\"customProperties\":{{\"canStartWorkflow\":true}}"),
                Act("Reply", "Elsa.WriteHttpResponse", $"\"content\":{Js(answer)}")),
            Arr(Conn("Http1", "Reply"))), publish: true);
        Assert.Empty(save.ValidationErrors);
    }

    private static async Task<string> AnswerAsync(HttpClient client, HttpMethod method, string path)
    {
        var response = await client.SendAsync(new HttpRequestMessage(method, path));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: expected 200, got {(int)response.StatusCode} {body}");
        return body;
    }

    private static async Task<int> ExecuteAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteNonQueryAsync();
    }
}
