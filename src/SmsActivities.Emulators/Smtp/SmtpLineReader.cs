namespace SmsActivities.Emulators.Smtp;

/// <summary>
/// Reads CRLF-terminated lines as bytes from a stream that can be swapped for its TLS wrapper mid-session (STARTTLS).
/// Bytes are kept as they came, so a message's 8-bit content reaches the MIME parser untouched.
/// </summary>
internal sealed class SmtpLineReader(Stream stream)
{
    /// <summary>RFC 5321 allows 1000 octets per line; a little slack for lenient clients, then the session is dropped.</summary>
    private const int MaxLine = 64 * 1024;

    private readonly byte[] _buffer = new byte[16 * 1024];
    private Stream _stream = stream;
    private int _start;
    private int _end;

    /// <summary>
    /// Continues on <paramref name="stream"/> and forgets anything read ahead: after STARTTLS whatever came before the
    /// handshake is discarded, so plain-text commands cannot be injected into the protected session.
    /// </summary>
    public void Reset(Stream stream)
    {
        _stream = stream;
        _start = _end = 0;
    }

    /// <returns>The line without its CRLF, or null when the peer closed the connection.</returns>
    public async Task<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
    {
        using var line = new MemoryStream();
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                line.Write(_buffer, _start, newline - _start);
                _start = newline + 1;
                var bytes = line.ToArray();
                return bytes.Length > 0 && bytes[^1] == '\r' ? bytes[..^1] : bytes;
            }
            line.Write(_buffer, _start, _end - _start);
            if (line.Length > MaxLine) throw new InvalidDataException("line too long");
            _start = 0;
            _end = await _stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
            if (_end == 0) return null;
        }
    }
}
