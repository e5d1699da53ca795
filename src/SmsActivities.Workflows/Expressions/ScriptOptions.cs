namespace SmsActivities.Workflows.Expressions;

/// <summary>
/// Limits on one JavaScript evaluation, so a bad script faults its workflow with a clear incident instead of hanging
/// or exhausting the process. Configure with <c>services.Configure&lt;ScriptOptions&gt;(…)</c>.
/// </summary>
public sealed class ScriptOptions
{
    /// <summary>Wall-clock time one evaluation may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Statements one evaluation may execute (a loop over a large list of recipients stays well below).</summary>
    public int MaxStatements { get; set; } = 10_000_000;
    /// <summary>Bytes one evaluation may allocate.</summary>
    public long MaxMemoryBytes { get; set; } = 256L * 1024 * 1024;
    /// <summary>Call depth (recursion) one evaluation may reach.</summary>
    public int MaxRecursionDepth { get; set; } = 256;
    /// <summary>How many distinct scripts stay parsed in memory.</summary>
    public int ParsedScriptCacheSize { get; set; } = 2048;
}

/// <summary>An expression that failed: a syntax error, a thrown error or a broken limit, with where it happened.</summary>
public sealed class ScriptException(string message, int? line, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The 1-based line of the script where it failed, when known.</summary>
    public int? Line { get; } = line;
}
