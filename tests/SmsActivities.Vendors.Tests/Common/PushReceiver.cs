using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SmsActivities.Vendors.Tests;

/// <summary>One push as the receiver got it: its path (without the leading '/'), the request, and the reader's result if a reader was given.</summary>
public sealed record ReceivedPush(string Path, WebhookRequest Request, WebhookReadResult? Read)
{
    public string Text => Encoding.UTF8.GetString(Request.Body);
}

/// <summary>
/// A vendor's push target on loopback (any path, POST or GET). With a webhook reader, each push is read and answered
/// with the reader's acknowledgement (or its rejection); without one, with <see cref="Answer"/>. The first
/// <c>refuseFirst</c> pushes get a 503, which no vendor takes as an acknowledgement, to exercise push retries.
/// </summary>
public sealed class PushReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IWebhookReader? _reader;
    private readonly ConcurrentQueue<ReceivedPush> _received = new();
    private int _refusalsLeft;

    private PushReceiver(WebApplication app, IWebhookReader? reader, int refuseFirst)
    {
        _app = app;
        _reader = reader;
        _refusalsLeft = refuseFirst;
    }

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>The scripted acknowledgement when no reader was given (default: 200 "OK").</summary>
    public WebhookAcknowledgement Answer { get; set; } = WebhookAcknowledgement.Ok;

    /// <summary>Every push received so far, refused ones included, in arrival order.</summary>
    public IReadOnlyList<ReceivedPush> Received => _received.ToArray();

    /// <summary>The reader's result for every push received so far (empty without a reader).</summary>
    public IReadOnlyList<WebhookReadResult> Results => _received.Select(p => p.Read).OfType<WebhookReadResult>().ToArray();

    public Uri Url(string path = "push") => new(BaseUrl, path.TrimStart('/'));

    public static async Task<PushReceiver> StartAsync(IWebhookReader? reader = null, int refuseFirst = 0, WebhookAcknowledgement? answer = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var receiver = new PushReceiver(builder.Build(), reader, refuseFirst);
        if (answer is not null) receiver.Answer = answer;
        receiver._app.MapMethods("/{**path}", [HttpMethods.Post, HttpMethods.Get], (Delegate)receiver.HandleAsync);
        await receiver._app.StartAsync();
        var address = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.BaseUrl = new Uri(address.TrimEnd('/') + "/");
        return receiver;
    }

    /// <summary>Waits until <paramref name="count"/> pushes in all (or to <paramref name="path"/>) have arrived; 10 s by default, for loaded machines.</summary>
    public async Task<IReadOnlyList<ReceivedPush>> WaitForAsync(int count, string? path = null, TimeSpan? timeout = null)
    {
        path = path?.TrimStart('/');
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var got = _received.Where(p => path is null || p.Path == path).ToArray();
            if (got.Length >= count) return got;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{got.Length} of {count} pushes{(path is null ? "" : " to " + path)} arrived");
            await Task.Delay(10);
        }
    }

    private async Task<IResult> HandleAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        var request = new WebhookRequest(http.Request.Method, http.Request.ContentType, buffer.ToArray(),
            http.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString()),
            http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase));
        var read = _reader?.Read(request);
        _received.Enqueue(new ReceivedPush((http.Request.Path.Value ?? string.Empty).TrimStart('/'), request, read));

        if (Interlocked.Decrement(ref _refusalsLeft) >= 0) return Microsoft.AspNetCore.Http.Results.Text("BUSY", statusCode: StatusCodes.Status503ServiceUnavailable);
        if (read is { IsValid: false }) return Microsoft.AspNetCore.Http.Results.Text(read.Error, statusCode: read.RejectStatus);
        var ack = read?.Acknowledgement ?? Answer;
        return Microsoft.AspNetCore.Http.Results.Text(ack.Body, ack.ContentType, statusCode: ack.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
