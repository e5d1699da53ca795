using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SmsActivities.Sandbox;

namespace SmsActivities.Benchmarks;

/// <summary>
/// <c>--chaos</c>: the real server as its own process on loopback (its own temporary SQLite data folder, the sandbox
/// vendor emulators in this process so they outlive the server), driven through the sample workflows as a hostile world
/// would: OTP sends while the first vendor accepts a share of the sends and then answers 500 or never answers; surveys
/// whose handsets reply the moment the question is accepted; a campaign whose server is SIGKILLed mid-way and started
/// again on the same data; fuzzed pushes on every vendor webhook route. Who got what is counted from the emulators' own
/// records of what they sent, never from the server's claims. Every figure printed at the end has the target 0.
/// </summary>
internal sealed partial class ChaosRun
{
    private const string ApiKey = "chaos-server-api-key-4f1c9a7e2b";
    private const int CodeDigits = 8; // longer than the default 6, so a random run of digits in the files is not taken for a code
    private const int YunpianBatch = 1_000;
    private const string SurveyQuestion = "How happy";
    private const string CampaignText = "Chaos campaign: flash sale tonight.";
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Where a busy instance's 503 + Retry-After is tallied: not an error, the documented "come back later".</summary>
    internal const int BusyStatus = 1503;

    private readonly ChaosOptions _options;
    private readonly SandboxVendors _vendors;
    private readonly Dictionary<string, string?> _settings;
    private readonly int _port = ChaosServer.FreePort();
    private readonly string _authorization = "chaos-authz-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly string _cookie = "chaos-cookie-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly ConcurrentDictionary<int, int> _apiAnswers = new();
    private readonly HttpClient _control;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(120) };
    private ChaosServer _server;

    private ChaosRun(ChaosOptions options, SandboxVendors vendors, string dataFolder)
    {
        _options = options;
        _vendors = vendors;
        _control = new HttpClient { BaseAddress = vendors.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        _settings = new Dictionary<string, string?>(vendors.Settings)
        {
            ["Server:Sandbox"] = "false",
            ["Server:ApiKey"] = ApiKey,
            ["Server:DataDirectory"] = dataFolder,
            ["Server:WorkflowsFolder"] = Path.Combine(ChaosServer.RepositoryRoot, "workflows"),
            ["SmsActivities:Otp:Digits"] = CodeDigits.ToString(CultureInfo.InvariantCulture),
            // Every OTP call comes from 127.0.0.1: the per-address limits (20 sends, 60 checks an hour) would refuse the run.
            ["SmsActivities:Otp:MaxSendsPerIpPerHour"] = "100000",
            ["SmsActivities:Otp:MaxChecksPerIpPerHour"] = "100000",
        };
        _server = ChaosServer.Start(_port, _settings);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var options = ChaosOptions.Parse(args);
        var folder = Directory.CreateTempSubdirectory("sms-chaos-").FullName;
        var data = Path.Combine(folder, "data");
        Console.WriteLine($"chaos run: {options}; data folder {data}");
        // Emulator time runs 20 times faster than real time: pushes refused while the server is dead are retried in seconds.
        await using var vendors = await SandboxVendors.StartAsync(timeScale: 0.05);
        // The run counts the vendor calls and pushes it caused (double sends, batch calls, 5xx answers): every one is kept.
        vendors.Emulators.Requests.Capacity = int.MaxValue;
        vendors.Emulators.Pushes.Log.Capacity = int.MaxValue;
        var run = new ChaosRun(options, vendors, data);
        try
        {
            var figures = await run.RunAllAsync(data);
            figures.Print();
            return figures.AllZero ? 0 : 1;
        }
        finally
        {
            run._server.Dispose();
            run._http.Dispose();
            run._control.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (!options.Keep) try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private async Task<ChaosFigures> RunAllAsync(string data)
    {
        var figures = new ChaosFigures();
        await _server.WaitUntilHealthyAsync(_http, TimeSpan.FromMinutes(3));
        _vendors.ConnectTo(_server.BaseAddress);
        await UseManagementApiAsync();

        var total = Stopwatch.StartNew();
        var codes = await Timed("OTP sends with ambiguous vendor faults", () => OtpAsync(figures));
        await Timed("surveys with immediate replies", () => SurveysAsync(figures));
        await Timed("campaign with a kill -9 and a restart", () => CampaignAsync(figures));
        await Timed("fuzzed webhook pushes", () => FuzzAsync(figures));

        figures.VendorPushes = _vendors.Emulators.Pushes.Attempts.Count;
        figures.VendorPush5xx = _vendors.Emulators.Pushes.Attempts.Count(a => a.StatusCode >= 500);
        figures.ApiAnswers = _apiAnswers.OrderBy(a => a.Key).ToDictionary(a => a.Key, a => a.Value);

        var named = new Dictionary<string, string>
        {
            ["server API key"] = ApiKey,
            ["Authorization header value"] = _authorization,
            ["Cookie header value"] = _cookie,
            ["webhook token"] = _vendors.WebhookToken,
        };
        foreach (var (key, value) in _vendors.Settings)
            if (value is { Length: >= 8 } && (key.EndsWith("Key", StringComparison.Ordinal) || key.EndsWith("Password", StringComparison.Ordinal)))
                named[key] = value;
        figures.SecretsSearched = $"{named.Count} named secrets ({string.Join(", ", named.Keys)}) and {codes.Count} OTP codes";
        figures.Secrets = SecretsAtRest.Search(data, named, codes, CodeDigits);
        // The control: the campaign's text is kept at rest by design, so a search that cannot find it is broken.
        figures.ControlFound = SecretsAtRest.Search(data, new Dictionary<string, string> { ["control"] = CampaignText }, new HashSet<string>(), CodeDigits).Count;
        figures.DataFiles = Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories)
            .Select(f => new FileInfo(f)).OrderBy(f => f.Name).Select(f => (Path.GetRelativePath(data, f.FullName), f.Length)).ToList();
        figures.Elapsed = total.Elapsed;
        return figures;
    }

    /// <summary>1. OTP sends (Yunpian, failover Tencent): half while a share of Yunpian calls is accepted then answered 500, half while accepted then never answered.</summary>
    private async Task<HashSet<string>> OtpAsync(ChaosFigures figures)
    {
        var mobiles = Numbers(137, _options.Otp);
        var verifyUrls = new string?[mobiles.Length];
        var half = mobiles.Length / 2;
        var injectedBefore = _vendors.Emulators.Yunpian.Faults.Injected;
        foreach (var (from, to, fault) in new[] { (0, half, "AcceptThenFail"), (half, mobiles.Length, "AcceptThenTimeout") })
        {
            await FaultsAsync(new { rate = _options.FaultRate, fault, status = 500, seed = from + 1 });
            await SmsBenchmarks.Parallel(to - from, _options.Callers, async i =>
            {
                var (status, body) = await CallAsync(HttpMethod.Post, "workflows/otp/send", new { mobile = mobiles[from + i] });
                if (status == 202) verifyUrls[from + i] = body?["verifyUrl"]?.GetValue<string>();
            });
        }
        await FaultsAsync(new { });
        var injected = _vendors.Emulators.Yunpian.Faults.Injected - injectedBefore;

        var inbox = Inbox(mobiles, _ => true);
        var yunpianCalls = _vendors.Emulators.Requests.For("yunpian").Count(r => r.Path.EndsWith("send.json", StringComparison.Ordinal));
        var codes = new HashSet<string>(StringComparer.Ordinal);
        var verified = 0;
        var unverified = new ConcurrentQueue<string>();
        await SmsBenchmarks.Parallel(mobiles.Length, _options.Callers, async i =>
        {
            var code = inbox[mobiles[i]].Select(m => CodePattern().Match(m.Text ?? string.Empty)).FirstOrDefault(m => m.Success)?.Value;
            if (code is null || verifyUrls[i] is not { } url) return;
            lock (codes) codes.Add(code);
            var (status, body) = await CallAsync(HttpMethod.Post, url.TrimStart('/'), new { code });
            if (status == 200 && body?["result"]?.GetValue<string>() == "Valid") Interlocked.Increment(ref verified);
            else unverified.Enqueue($"{mobiles[i]}: {status} {body?.ToJsonString()}");
        });

        figures.Add("otp", inbox, mobiles);
        figures.WaitsStuck += unverified.Count;
        Console.WriteLine($"  {mobiles.Length} sends, {verifyUrls.Count(u => u is not null)} answered 202; Yunpian send calls {yunpianCalls}, {injected} of them faulted "
            + "(accepted, then 500 in the first half, no answer in the second), "
            + $"Tencent (failover) sends {inbox.Values.Sum(m => m.Count(x => x.Vendor == "tencent"))}; {verified} codes from the handsets verified Valid, "
            + $"{unverified.Count} verifications not Valid{Sample(unverified)}");
        return codes;
    }

    /// <summary>2. Surveys (Tencent question, WaitForReply): every handset answers the moment the question is accepted.</summary>
    private async Task SurveysAsync(ChaosFigures figures)
    {
        var mobiles = Numbers(136, _options.Surveys);
        foreach (var mobile in mobiles) _vendors.Emulators.Tencent.Script.AnswerFrom(mobile, "4");
        var resultUrls = new string?[mobiles.Length];
        await SmsBenchmarks.Parallel(mobiles.Length, _options.Callers, async i =>
        {
            var (status, body) = await CallAsync(HttpMethod.Post, "workflows/survey", new { mobile = mobiles[i] });
            if (status == 202) resultUrls[i] = body?["resultUrl"]?.GetValue<string>();
        });

        var answers = new string?[mobiles.Length];
        var pending = Enumerable.Range(0, mobiles.Length).Where(i => resultUrls[i] is not null).ToList();
        var deadline = DateTime.UtcNow + SettleTimeout;
        while (pending.Count > 0 && DateTime.UtcNow < deadline)
        {
            var done = new ConcurrentBag<int>();
            await SmsBenchmarks.Parallel(pending.Count, _options.Callers, async k =>
            {
                var i = pending[k];
                var (status, body) = await CallAsync(HttpMethod.Get, resultUrls[i]!.TrimStart('/'));
                if (status != 200) return;
                answers[i] = body?["timedOut"]?.GetValue<bool>() == true ? "(timed out)" : body?["answer"]?.GetValue<string>() ?? "(none)";
                done.Add(i);
            });
            pending = pending.Except(done).ToList();
            if (pending.Count > 0) await Task.Delay(1000);
        }

        // A reply counts as given once the server acknowledged its push to the vendor.
        var acknowledged = _vendors.Emulators.Pushes.Attempts.Where(p => p.Vendor == "tencent" && p.Kind == "reply" && p.Acknowledged).Select(p => p.Body).ToList();
        var lost = Enumerable.Range(0, mobiles.Length)
            .Where(i => answers[i] != "4" && acknowledged.Any(b => b.Contains(mobiles[i][3..], StringComparison.Ordinal))).ToList();
        var inbox = Inbox(mobiles, m => m.Text?.Contains(SurveyQuestion, StringComparison.Ordinal) == true);
        figures.Add("surveys", inbox, mobiles);
        figures.RepliesLost += lost.Count;
        figures.WaitsStuck += pending.Count;
        Console.WriteLine($"  {mobiles.Length} surveys, {resultUrls.Count(u => u is not null)} answered 202; {answers.Count(a => a == "4")} results carry the reply, "
            + $"{pending.Count} still waiting after {SettleTimeout.TotalMinutes:F0} min, {lost.Count} acknowledged replies lost"
            + Sample(lost.Select(i => $"{mobiles[i]}: {answers[i] ?? "no result"}")));
    }

    /// <summary>3. The campaign sample (Yunpian batches of 1,000): SIGKILL while the middle batch is at the vendor, restart on the same data.</summary>
    private async Task CampaignAsync(ChaosFigures figures)
    {
        var recipients = Numbers(139, _options.Recipients);
        var batches = (recipients.Length + YunpianBatch - 1) / YunpianBatch;
        var killAt = (batches + 1) / 2;
        // Each batch call waits 1.5 s at the vendor before it is handled: the kill lands inside one.
        await FaultsAsync(new { delayNext = batches, delayMs = 1500 });
        using var start = new HttpRequestMessage(HttpMethod.Post, "workflows/campaign") { Content = JsonContent.Create(new { recipients, text = CampaignText }) };
        start.Headers.Add("Idempotency-Key", "chaos-campaign");
        var (status, body) = await CallAsync(start);
        if (status != 202 || body?["statusUrl"]?.GetValue<string>() is not { } statusUrl)
            throw new InvalidOperationException($"the campaign start answered {status} {body?.ToJsonString()}");

        await Until(() => BatchCalls() >= killAt, TimeSpan.FromMinutes(5), $"batch call {killAt} of the campaign to reach Yunpian");
        _server.Kill();
        var sentAtKill = _vendors.Emulators.Yunpian.Sent.Count(m => m.Text?.Contains(CampaignText, StringComparison.Ordinal) == true);
        Console.WriteLine($"  killed (SIGKILL) with batch call {BatchCalls()} of {batches} at the vendor, {sentAtKill} recipients sent so far");
        await FaultsAsync(new { });
        _server.Dispose();
        _server = ChaosServer.Start(_port, _settings);
        await _server.WaitUntilHealthyAsync(_http, TimeSpan.FromMinutes(3));
        _vendors.ConnectTo(_server.BaseAddress);

        JsonNode? last = null;
        var deadline = DateTime.UtcNow + SettleTimeout;
        while (DateTime.UtcNow < deadline)
        {
            using var poll = new HttpRequestMessage(HttpMethod.Get, statusUrl.TrimStart('/'));
            var (code, answer) = await CallAsync(poll, busyIsExpected: true);
            if (code == 200) last = answer;
            if (last?["status"]?.GetValue<string>() == "finished") break;
            await Task.Delay(1000);
        }
        var state = last?["status"]?.GetValue<string>() ?? "no answer";
        var summary = last?["summary"];
        // A count: the list of them is left empty over SmsActivities:MaxResultsInOutputs.
        var inDoubt = summary?["inDoubt"]?.GetValue<int>() ?? 0;
        if (state == "sending") figures.WaitsStuck++;
        var inbox = Inbox(recipients, m => m.Text?.Contains(CampaignText, StringComparison.Ordinal) == true);
        figures.Add("campaign", inbox, recipients, inDoubt);
        Console.WriteLine($"  {recipients.Length} recipients in {batches} batches; {BatchCalls()} batch calls reached Yunpian; the emulators sent to "
            + $"{inbox.Count(r => r.Value.Count > 0)}; status after {SettleTimeout.TotalMinutes:F0} min at most: {state}, "
            + $"summary sent {summary?["sent"]?.ToJsonString() ?? "?"}, in doubt {inDoubt}, failed {summary?["failed"]?.ToJsonString() ?? "?"}");
    }

    /// <summary>4. Generated hostile pushes over HTTP on every vendor webhook route (the suite's fuzz generators).</summary>
    private async Task FuzzAsync(ChaosFigures figures)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var summary = await WebhookFuzzer.ForSandbox().RunOverHttpAsync(http, _server.BaseAddress, _vendors.WebhookToken, _options.Pushes, _options.Callers);
        figures.Fuzzed = summary;
        Console.WriteLine("  " + summary);
        foreach (var sample in summary.ServerErrorSamples.Take(5)) Console.WriteLine("    " + sample);
    }

    /// <summary>The management API, called once with the server's key, so the key is among what the run used (and searched for).</summary>
    private async Task UseManagementApiAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_server.BaseAddress, "elsa/api/workflow-definitions"));
        request.Headers.TryAddWithoutValidation("Authorization", "ApiKey " + ApiKey);
        using var response = await _http.SendAsync(request);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"the management API refused the key: {(int)response.StatusCode}");
    }

    private Task<(int Status, JsonNode? Body)> CallAsync(HttpMethod method, string path, object? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = JsonContent.Create(json);
        return CallAsync(request, dispose: true);
    }

    /// <summary>A workflow endpoint call as a browser would make it, with a bearer token and a session cookie (both must never be stored).</summary>
    /// <param name="busyIsExpected">
    /// A 503 with Retry-After is the documented answer of an instance busy running (the campaign's status while a batch
    /// is at the vendor): counted apart from the 5xx answers.
    /// </param>
    private async Task<(int Status, JsonNode? Body)> CallAsync(HttpRequestMessage request, bool dispose = false, bool busyIsExpected = false)
    {
        try
        {
            request.RequestUri = new Uri(_server.BaseAddress, request.RequestUri!.OriginalString);
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + _authorization);
            request.Headers.TryAddWithoutValidation("Cookie", "session=" + _cookie);
            int status;
            string text;
            try
            {
                using var response = await _http.SendAsync(request);
                status = (int)response.StatusCode;
                text = await response.Content.ReadAsStringAsync();
                if (busyIsExpected && status == 503 && response.Headers.RetryAfter is not null) status = BusyStatus;
            }
            catch (HttpRequestException e)
            {
                status = 599; // the connection dropped: as bad as a 5xx for the caller
                text = e.Message;
            }
            _apiAnswers.AddOrUpdate(status, 1, (_, n) => n + 1);
            try
            {
                return (status, text.Length > 0 ? JsonNode.Parse(text) : null);
            }
            catch (System.Text.Json.JsonException)
            {
                return (status, null);
            }
        }
        finally
        {
            if (dispose) request.Dispose();
        }
    }

    private async Task FaultsAsync(object faults)
    {
        using var response = await _control.PostAsJsonAsync("yunpian/_faults", faults);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"_faults refused {System.Text.Json.JsonSerializer.Serialize(faults)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private int BatchCalls() => _vendors.Emulators.Requests.For("yunpian", "batch_send.json").Count;

    /// <summary>What each of <paramref name="mobiles"/> received (per the emulators), restricted to the messages <paramref name="counted"/>.</summary>
    private Dictionary<string, List<SandboxSettings.HandsetMessage>> Inbox(string[] mobiles, Func<SandboxSettings.HandsetMessage, bool> counted)
    {
        var inbox = mobiles.ToDictionary(m => m, _ => new List<SandboxSettings.HandsetMessage>(), StringComparer.Ordinal);
        foreach (var (e164, message) in SandboxSettings.HandsetMessages(_vendors.Emulators))
            if (inbox.TryGetValue(e164, out var list) && message.Kind == "sms" && counted(message)) list.Add(message);
        return inbox;
    }

    private static async Task<T> Timed<T>(string phase, Func<Task<T>> action)
    {
        Console.WriteLine(phase + " …");
        var sw = Stopwatch.StartNew();
        var result = await action();
        Console.WriteLine($"  ({sw.Elapsed.TotalSeconds:F0} s)");
        return result;
    }

    private static Task Timed(string phase, Func<Task> action) => Timed(phase, async () => { await action(); return true; });

    private static async Task Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Timed out waiting for " + what);
            await Task.Delay(50);
        }
    }

    /// <summary>Distinct Chinese mobiles, one range per phase: +86 1{prefix} followed by eight digits.</summary>
    private static string[] Numbers(int prefix, int count) => Enumerable.Range(0, count).Select(i => $"+86{prefix}{i:D8}").ToArray();

    private static string Sample(IEnumerable<string> items)
    {
        var first = items.Take(3).ToList();
        return first.Count == 0 ? string.Empty : "; e.g. " + string.Join(" | ", first);
    }

    [GeneratedRegex(@"(?<!\d)\d{8}(?!\d)")]
    private static partial Regex CodePattern();
}
