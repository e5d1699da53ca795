using System.Net;
using System.Text.Json.Nodes;
using SmsActivities.Server.Tests.Infrastructure;

namespace SmsActivities.Server.Tests.Api;

/// <summary>The server's own surface: health, OpenAPI, API-key auth, CORS, and the static Studio files.</summary>
public sealed class HostingTests : IAsyncLifetime
{
    private ServerHost _server = null!;

    public async Task InitializeAsync() => _server = await ServerHost.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Health_reports_sqlite_and_sandbox()
    {
        using var client = _server.CreateClient(withApiKey: false);
        var body = JsonNode.Parse(await client.GetStringAsync("health"))!;
        Assert.Equal("Healthy", (string?)body["status"]);
        Assert.True((bool)body["sandbox"]!);
        Assert.Equal("Healthy", (string?)body["checks"]!["database"]);
        Assert.True(File.Exists(Path.Combine(_server.DataDirectory, "smsactivities.db")));
    }

    [Fact]
    public async Task OpenApi_document_lists_the_elsa_api()
    {
        using var client = _server.CreateClient(withApiKey: false);
        var document = JsonNode.Parse(await client.GetStringAsync("openapi/v1.json"))!;
        Assert.NotNull(document["paths"]!["/elsa/api/descriptors/expression-descriptors"]);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("ApiKey wrong-key", HttpStatusCode.Unauthorized)]
    [InlineData("Bearer sandbox-api-key", HttpStatusCode.Unauthorized)]
    [InlineData("ApiKey sandbox-api-key", HttpStatusCode.OK)]
    public async Task Elsa_api_requires_the_api_key(string? authorization, HttpStatusCode expected)
    {
        using var client = _server.CreateClient(withApiKey: false);
        using var request = new HttpRequestMessage(HttpMethod.Get, "elsa/api/descriptors/expression-descriptors");
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task X_Api_Key_header_is_accepted()
    {
        using var client = _server.CreateClient(withApiKey: false);
        client.DefaultRequestHeaders.Add("X-Api-Key", _server.ApiKey);
        using var response = await client.GetAsync("elsa/api/descriptors/variables");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Cross_origin_calls_expose_the_headers_studio_reads()
    {
        using var client = _server.CreateClient();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "elsa/api/descriptors/variables");
        preflight.Headers.Add("Origin", "http://studio.example");
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization");
        using var preflightResponse = await client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, preflightResponse.StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "elsa/api/descriptors/variables");
        request.Headers.Add("Origin", "http://studio.example");
        using var response = await client.SendAsync(request);
        var exposed = string.Join(",", response.Headers.GetValues("Access-Control-Expose-Headers"));
        Assert.Contains("x-elsa-workflow-instance-id", exposed, StringComparison.Ordinal);
        Assert.Contains("x-elsa-workflow-cannot-start", exposed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expression_descriptors_include_a_language_besides_literal_object_variable()
    {
        using var client = _server.CreateClient();
        var body = JsonNode.Parse(await client.GetStringAsync("elsa/api/descriptors/expression-descriptors"))!;
        var types = body["items"]!.AsArray().Select(i => (string?)i!["type"]).ToList();
        Assert.Contains("JavaScript", types);
        Assert.Equal(types.Count, (int)body["count"]!);
    }

    [Fact]
    public async Task Studio_host_page_replaces_the_package_index_and_embeds_the_sandbox_key()
    {
        using var client = _server.CreateClient(withApiKey: false);
        var page = await client.GetStringAsync("studio/");
        Assert.Contains("<base href=\"/studio/\"/>", page, StringComparison.Ordinal);
        Assert.Contains("\"apiKey\":\"sandbox-api-key\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("elsa-studio-workflow-definition-editor", page, StringComparison.Ordinal);
        var deepLink = await client.GetStringAsync("studio/workflows/instances/abc/view");
        Assert.Equal(page, deepLink);
    }

    [Fact]
    public async Task Studio_static_files_are_served_with_dat_and_wasm_types_and_precompressed_copies()
    {
        using var client = _server.CreateClient(withApiKey: false);
        var framework = Path.Combine(Infrastructure.StudioFiles.PackageDirectory, "_framework");
        var icu = Path.GetFileName(Directory.GetFiles(framework, "icudt*.dat").First());
        using var icuResponse = await client.GetAsync("studio/_framework/" + icu);
        Assert.Equal(HttpStatusCode.OK, icuResponse.StatusCode);
        Assert.Equal("application/octet-stream", icuResponse.Content.Headers.ContentType?.MediaType);

        var wasm = Path.GetFileName(Directory.GetFiles(framework, "*.wasm").First());
        using var request = new HttpRequestMessage(HttpMethod.Get, "studio/_framework/" + wasm);
        request.Headers.Add("Accept-Encoding", "br");
        using var wasmResponse = await client.SendAsync(request);
        Assert.Equal("application/wasm", wasmResponse.Content.Headers.ContentType?.MediaType);
        Assert.Contains("br", wasmResponse.Content.Headers.ContentEncoding);
    }

    [Fact]
    public async Task Sandbox_mounts_the_vendor_emulators()
    {
        using var client = _server.CreateClient(withApiKey: false);
        using var response = await client.GetAsync("_emulators/_requests");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Outside_sandbox_the_server_refuses_to_start_without_a_key()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ServerHost.StartAsync(new Dictionary<string, string?> { ["Server:Sandbox"] = "false" }));
        Assert.Contains("Server:ApiKey", error.Message, StringComparison.Ordinal);
    }
}
