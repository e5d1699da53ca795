using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>
/// A plain HTTP listener on loopback that never answers the first request it gets (its caller is stuck in that call
/// until it dies) and answers 200 to every other. It keeps the body of each request it read, in arrival order.
/// </summary>
public sealed class HoldFirstListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _held = [];
    private readonly ConcurrentQueue<string> _bodies = new();
    private int _answered;
    private Task? _loop;

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/call");

    public int Answered => Volatile.Read(ref _answered);

    public int Held { get { lock (_held) return _held.Count; } }

    /// <summary>The bodies of the requests read so far (the held one included), oldest first.</summary>
    public IReadOnlyList<string> Bodies => [.. _bodies];

    public static HoldFirstListener Start()
    {
        var listener = new HoldFirstListener();
        listener._listener.Start();
        listener._loop = listener.AcceptAsync();
        return listener;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                bool hold;
                lock (_held)
                {
                    hold = _held.Count == 0;
                    if (hold) _held.Add(client);
                }
                _ = hold ? ReadAsync(client) : AnswerAsync(client);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads one request (headers, then as many body bytes as its Content-Length says) and keeps its body; false when the caller hung up first.</summary>
    private async Task<bool> ReadAsync(TcpClient client)
    {
        try
        {
            var stream = client.GetStream();
            var buffer = new byte[4096];
            var received = new List<byte>();
            int headerEnd;
            while ((headerEnd = IndexOfBlankLine(received)) < 0)
            {
                var read = await stream.ReadAsync(buffer, _stop.Token);
                if (read == 0) return false;
                received.AddRange(buffer.AsSpan(0, read).ToArray());
            }
            var headers = Encoding.ASCII.GetString(received.ToArray(), 0, headerEnd);
            var length = headers.Split("\r\n").Select(h => h.Split(':', 2)).Where(h => h.Length == 2 && h[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                .Select(h => int.Parse(h[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
            while (received.Count < headerEnd + 4 + length)
            {
                var read = await stream.ReadAsync(buffer, _stop.Token);
                if (read == 0) return false;
                received.AddRange(buffer.AsSpan(0, read).ToArray());
            }
            _bodies.Enqueue(Encoding.UTF8.GetString(received.ToArray(), headerEnd + 4, length));
            return true;
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task AnswerAsync(TcpClient client)
    {
        using (client)
        {
            if (!await ReadAsync(client)) return;
            // Counted before the answer goes out: the caller may read it and commit its instance before this
            // process (a busy test process) gets back from the write.
            Interlocked.Increment(ref _answered);
            await client.GetStream().WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"u8.ToArray(), _stop.Token);
        }
    }

    private static int IndexOfBlankLine(List<byte> bytes)
    {
        for (var i = 0; i + 3 < bytes.Count; i++)
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n') return i;
        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        if (_loop is not null) await _loop;
        lock (_held) foreach (var client in _held) client.Dispose();
        _stop.Dispose();
    }
}
