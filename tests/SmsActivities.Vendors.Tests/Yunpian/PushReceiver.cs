using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmsActivities.Vendors;

namespace SmsActivities.Vendors.Tests.Yunpian;

/// <summary>
/// A vendor's push target on loopback: hands every push to a webhook reader and answers with the reader's
/// acknowledgement, except for the first <c>refuseFirst</c> pushes, which get a 503 no vendor takes as an acknowledgement.
/// </summary>
public sealed class PushReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<WebhookReadResult> _results = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private int _refusalsLeft;

    private PushReceiver(WebApplication app, int refuseFirst)
    {
        _app = app;
        _refusalsLeft = refuseFirst;
    }

    public Uri Url { get; private set; } = null!;

    /// <summary>Every push read, refused ones included.</summary>
    public IReadOnlyList<WebhookReadResult> Results => _results.ToArray();

    public static async Task<PushReceiver> StartAsync(IWebhookReader reader, int refuseFirst = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new PushReceiver(app, refuseFirst);
        app.MapPost("/push", async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            var request = new WebhookRequest(http.Request.Method, http.Request.ContentType, buffer.ToArray(),
                http.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString()),
                http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
            var result = reader.Read(request);
            receiver._results.Enqueue(result);
            receiver._arrived.Release();
            if (Interlocked.Decrement(ref receiver._refusalsLeft) >= 0) return Microsoft.AspNetCore.Http.Results.Text("BUSY", statusCode: StatusCodes.Status503ServiceUnavailable);
            if (!result.IsValid) return Microsoft.AspNetCore.Http.Results.Text(result.Error, statusCode: result.RejectStatus);
            var ack = result.Acknowledgement;
            return Microsoft.AspNetCore.Http.Results.Text(ack.Body, ack.ContentType, statusCode: ack.StatusCode);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(address.TrimEnd('/') + "/push");
        return receiver;
    }

    /// <summary>Waits until <paramref name="count"/> pushes in all have arrived.</summary>
    public async Task<IReadOnlyList<WebhookReadResult>> WaitForAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (_results.Count < count) await _arrived.WaitAsync(cts.Token);
        return Results;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _arrived.Dispose();
    }
}
