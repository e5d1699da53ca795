namespace SmsActivities.Benchmarks;

/// <summary>What a chaos run measured; every count has the target 0.</summary>
internal sealed class ChaosFigures
{
    private readonly List<(string Phase, int Twice, int Never, int InDoubt)> _deliveries = [];

    public int RepliesLost { get; set; }

    public int WaitsStuck { get; set; }

    public WebhookFuzzSummary? Fuzzed { get; set; }

    public int VendorPushes { get; set; }

    public int VendorPush5xx { get; set; }

    public IReadOnlyDictionary<int, int> ApiAnswers { get; set; } = new Dictionary<int, int>();

    public string SecretsSearched { get; set; } = string.Empty;

    public IReadOnlyList<SecretFinding> Secrets { get; set; } = [];

    /// <summary>Files where the search found a text the run stored on purpose (its control: 0 means the search is broken).</summary>
    public int ControlFound { get; set; }

    public IReadOnlyList<(string Name, long Bytes)> DataFiles { get; set; } = [];

    public TimeSpan Elapsed { get; set; }

    private int SentTwice => _deliveries.Sum(d => d.Twice);

    private int NeverSent => _deliveries.Sum(d => d.Never);

    private int ApiServerErrors => ApiAnswers.Where(a => a.Key is >= 500 and < 600).Sum(a => a.Value);

    private int ServerErrors => (Fuzzed?.ServerErrors ?? 0) + VendorPush5xx + ApiServerErrors;

    public bool AllZero => SentTwice + NeverSent + RepliesLost + WaitsStuck + ServerErrors + Secrets.Count == 0;

    /// <summary>Counts, per recipient of one phase, who got the phase's message more than once and who never got it.</summary>
    /// <param name="inDoubt">
    /// How many recipients the server reported in doubt (a count: its list of them is capped): the never-sent ones
    /// should be among them, not claimed as sent.
    /// </param>
    public void Add<T>(string phase, IReadOnlyDictionary<string, List<T>> inbox, IEnumerable<string> recipients, int inDoubt = 0)
    {
        var counts = recipients.Select(r => inbox[r].Count).ToList();
        _deliveries.Add((phase, counts.Count(c => c > 1), counts.Count(c => c == 0), inDoubt));
    }

    public void Print()
    {
        string PerPhase(Func<(string Phase, int Twice, int Never, int NeverInDoubt), int> pick) => string.Join(", ", _deliveries.Select(d => $"{d.Phase} {pick(d)}"));
        Console.WriteLine();
        Console.WriteLine($"chaos figures (target 0 for each count; run took {Elapsed.TotalMinutes:F1} min)");
        Row("SMS sent twice", SentTwice, PerPhase(d => d.Twice));
        Row("recipients never sent", NeverSent, PerPhase(d => d.Never) + $" ({_deliveries.Sum(d => d.InDoubt)} reported in doubt by the server)");
        Row("replies lost", RepliesLost, "acknowledged survey replies whose wait did not get them");
        Row("waits stuck", WaitsStuck, "OTP checks not answered Valid, surveys without a result, campaign still sending");
        Row("5xx answers", ServerErrors, $"fuzzed pushes {Fuzzed?.ServerErrors ?? 0} of {Fuzzed?.Sent ?? 0}, emulator pushes {VendorPush5xx} of {VendorPushes}, "
            + $"workflow calls {ApiServerErrors} of {ApiAnswers.Values.Sum()} ({string.Join(", ", ApiAnswers.Select(a => a.Key == ChaosRun.BusyStatus ? $"503 busy with Retry-After×{a.Value}" : $"{a.Key}×{a.Value}"))})");
        Row("secrets found at rest", Secrets.Count, $"{SecretsSearched}; the control text found in {ControlFound} files");
        foreach (var finding in Secrets.Take(10)) Console.WriteLine($"    {finding.Kind} in {finding.File}: {finding.Context}");
        Console.WriteLine($"  {"database size after the run (default retention)",-48} {DataFiles.Sum(f => f.Bytes) / 1e6:F1} MB ({string.Join(", ", DataFiles.Select(f => $"{f.Name} {f.Bytes / 1e6:F1} MB"))})");
    }

    private static void Row(string name, int count, string detail) => Console.WriteLine($"  {name,-48} {count,6}   {detail}");
}
