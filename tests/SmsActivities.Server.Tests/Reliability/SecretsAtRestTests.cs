using System.Net;
using System.Net.Http.Json;
using System.Text;
using SmsActivities.Server.Tests.Samples;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Server.Tests.Reliability;

/// <summary>
/// Requests to the OTP samples carry credentials (Authorization, Cookie, X-Api-Key) and typed codes; afterwards the raw
/// bytes of every file in the server's data folder (databases and their write-ahead logs) are searched for them.
/// </summary>
public sealed class SecretsAtRestTests
{
    public static TheoryData<string> Flavours => SampleWorkflowTests.Flavours;

    [Theory]
    [MemberData(nameof(Flavours))]
    public async Task No_credential_header_or_typed_code_is_left_in_the_database_or_its_write_ahead_log(string flavour)
    {
        await using var server = await SandboxServer.StartAsync();
        var bearer = "Bearer tok" + Guid.NewGuid().ToString("N");
        var cookie = "session=ck" + Guid.NewGuid().ToString("N");
        var apiKey = "key" + Guid.NewGuid().ToString("N");
        var secrets = new List<string> { bearer["Bearer ".Length..], cookie["session=".Length..], apiKey };
        var verifyUrls = new List<string>();

        for (var i = 0; i < 3; i++)
        {
            var mobile = $"+86138001385{i:D2}";
            using var sent = await PostAsync(server, $"workflows/{flavour}otp/send", new { mobile }, bearer, cookie, apiKey);
            Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
            var verifyUrl = (await sent.Content.ReadFromJsonAsync<VerifyLink>())!.VerifyUrl;
            verifyUrls.Add(verifyUrl);
            var code = SandboxServer.CodeIn(Assert.Single(server.Emulators.Yunpian.Sent, m => m.E164 == mobile).Text);
            // Wrong codes no other data could hold by chance, then the right one.
            foreach (var typed in new[] { $"9{i}7{i}3{i}", $"8{i}6{i}4{i}" }.Where(t => t != code))
            {
                secrets.Add(typed);
                using var wrong = await PostAsync(server, verifyUrl, new { code = typed }, bearer, cookie, apiKey);
                Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
            }
            secrets.Add(code);
            using var right = await PostAsync(server, verifyUrl, new { code }, bearer, cookie, apiKey);
            Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        }
        foreach (var url in verifyUrls)
            await server.WaitForInstanceAsync(SandboxServer.InstanceIdIn(url), s => s.SubStatus == WorkflowSubStatus.Finished, "the OTP workflow to finish");

        var files = Directory.GetFiles(server.DataDirectory, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith("-wal", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = await ReadSharedAsync(file);
            foreach (var secret in secrets)
                Assert.True(StandaloneAt(bytes, Encoding.UTF8.GetBytes(secret)) < 0, $"{Path.GetFileName(file)} holds '{secret}'");
        }
    }

    private sealed record VerifyLink(string VerifyUrl);

    private static async Task<HttpResponseMessage> PostAsync(SandboxServer server, string path, object body, string bearer, string cookie, string apiKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path.TrimStart('/')) { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation("Authorization", bearer);
        request.Headers.TryAddWithoutValidation("Cookie", cookie);
        request.Headers.TryAddWithoutValidation("X-Api-Key", apiKey);
        return await server.Http.SendAsync(request);
    }

    /// <summary>
    /// Where <paramref name="secret"/> stands on its own in <paramref name="bytes"/>, or -1. Inside a longer run of letters
    /// or digits it is another value that happens to hold those digits, such as the fraction of a timestamp
    /// (…T04:37:20.8161410Z) or a hex id, which the runtime rightly keeps (see SecretRedactor). One run's files held 897
    /// of the million 6-digit strings that way, so a run with a dozen codes met one every few dozen runs.
    /// </summary>
    private static int StandaloneAt(byte[] bytes, byte[] secret)
    {
        for (var from = 0; from <= bytes.Length - secret.Length;)
        {
            var at = bytes.AsSpan(from).IndexOf(secret);
            if (at < 0) return -1;
            at += from;
            var end = at + secret.Length;
            if ((at == 0 || !char.IsAsciiLetterOrDigit((char)bytes[at - 1])) && (end == bytes.Length || !char.IsAsciiLetterOrDigit((char)bytes[end]))) return at;
            from = at + 1;
        }
        return -1;
    }

    /// <summary>The file as the server has it now, read beside the open connections.</summary>
    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
