using System.Text;

namespace SmsActivities.Benchmarks;

/// <summary>One secret found in one file.</summary>
internal sealed record SecretFinding(string Kind, string File, string Context);

/// <summary>
/// Searches every file of a data folder (databases, their WAL and journals, anything else) byte by byte for secrets the
/// run used: named strings (keys, header values, tokens), and one-time codes, which are digits and so are matched only
/// as a run of digits of their exact length with no letter or digit either side (a code inside a longer number, such as
/// a phone number, or inside a hex hash is not one: hashes at rest hold chance runs of 8 digits).
/// </summary>
internal static class SecretsAtRest
{
    public static IReadOnlyList<SecretFinding> Search(string folder, IReadOnlyDictionary<string, string> namedSecrets, IReadOnlySet<string> codes, int codeLength)
    {
        var found = new List<SecretFinding>();
        var needles = namedSecrets.Where(s => s.Value.Length > 0).Select(s => (s.Key, Bytes: Encoding.UTF8.GetBytes(s.Value))).ToArray();
        foreach (var path in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            byte[] content;
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                content = copy.ToArray();
            }
            catch (IOException)
            {
                continue; // deleted while listed (a journal)
            }
            var name = Path.GetRelativePath(folder, path);
            foreach (var (kind, bytes) in needles)
            {
                var at = content.AsSpan().IndexOf(bytes);
                if (at >= 0) found.Add(new SecretFinding(kind, name, Around(content, at, bytes.Length)));
            }
            foreach (var (at, digits) in DigitRuns(content, codeLength))
                if (codes.Contains(digits)) found.Add(new SecretFinding("OTP code", name, Around(content, at, codeLength)));
        }
        return found;
    }

    /// <summary>Every run of exactly <paramref name="length"/> ASCII digits with no ASCII letter or digit either side.</summary>
    private static IEnumerable<(int At, string Digits)> DigitRuns(byte[] content, int length)
    {
        var start = -1;
        for (var i = 0; i <= content.Length; i++)
        {
            var digit = i < content.Length && char.IsAsciiDigit((char)content[i]);
            if (digit && start < 0) start = i;
            else if (!digit && start >= 0)
            {
                var letterBefore = start > 0 && char.IsAsciiLetter((char)content[start - 1]);
                var letterAfter = i < content.Length && char.IsAsciiLetter((char)content[i]);
                if (i - start == length && !letterBefore && !letterAfter) yield return (start, Encoding.ASCII.GetString(content, start, length));
                start = -1;
            }
        }
    }

    /// <summary>The bytes around a hit as printable text, the hit itself masked, so the report shows where without repeating it.</summary>
    private static string Around(byte[] content, int at, int length)
    {
        var from = Math.Max(0, at - 40);
        var to = Math.Min(content.Length, at + length + 40);
        var text = new StringBuilder();
        for (var i = from; i < to; i++)
            text.Append(i >= at && i < at + length ? '*' : content[i] is >= 32 and < 127 ? (char)content[i] : '.');
        return text.ToString();
    }
}
