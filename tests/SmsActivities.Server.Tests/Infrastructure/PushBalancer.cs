using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>
/// A load balancer in front of several server nodes, for vendor pushes: each push goes to a node picked at random, and
/// some are delivered twice (a vendor retrying a push it thinks was lost), the copy to a node picked at random too and
/// sent at the same time. The vendor gets the first node's answer.
/// </summary>
public sealed class PushBalancer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly Random _random;
    private readonly double _duplicateShare;
    private readonly ConcurrentDictionary<Uri, int> _forwarded = new();
    private int _duplicates;

    private PushBalancer(WebApplication app, IReadOnlyList<Uri> nodes, int seed, double duplicateShare)
    {
        _app = app;
        Nodes = nodes;
        _random = new Random(seed);
        _duplicateShare = duplicateShare;
    }

    public IReadOnlyList<Uri> Nodes { get; }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Pushes forwarded to each node, copies included.</summary>
    public IReadOnlyDictionary<Uri, int> Forwarded => _forwarded;

    /// <summary>Pushes that were delivered twice.</summary>
    public int Duplicates => _duplicates;

    public static async Task<PushBalancer> StartAsync(IReadOnlyList<Uri> nodes, int seed, double duplicateShare)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var balancer = new PushBalancer(app, nodes, seed, duplicateShare);
        app.Map("/{**path}", balancer.ForwardAsync);
        await app.StartAsync();
        balancer.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        return balancer;
    }

    private async Task ForwardAsync(HttpContext http)
    {
        using var reader = new StreamReader(http.Request.Body);
        var body = await reader.ReadToEndAsync(http.RequestAborted);
        var target = http.Request.Path + http.Request.QueryString;
        Uri first, copy;
        bool twice;
        lock (_random)
        {
            first = Nodes[_random.Next(Nodes.Count)];
            copy = Nodes[_random.Next(Nodes.Count)];
            twice = _random.NextDouble() < _duplicateShare;
        }
        var answers = new List<Task<HttpResponseMessage>> { SendAsync(first, target, http.Request, body) };
        if (twice)
        {
            Interlocked.Increment(ref _duplicates);
            answers.Add(SendAsync(copy, target, http.Request, body));
        }
        using var answer = await answers[0];
        foreach (var other in answers.Skip(1)) (await other).Dispose();
        http.Response.StatusCode = (int)answer.StatusCode;
        if (answer.Content.Headers.ContentType is { } type) http.Response.ContentType = type.ToString();
        await http.Response.WriteAsync(await answer.Content.ReadAsStringAsync(http.RequestAborted), http.RequestAborted);
    }

    private Task<HttpResponseMessage> SendAsync(Uri node, string target, HttpRequest request, string body)
    {
        _forwarded.AddOrUpdate(node, 1, (_, n) => n + 1);
        var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(node, target.TrimStart('/')))
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8),
        };
        if (request.ContentType is { } contentType) message.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        return _http.SendAsync(message);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
