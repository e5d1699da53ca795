namespace SmsActivities.Workflows.Runtime;

/// <summary>Which versions of a definition a query means (Elsa's <c>versionOptions</c>: a name or a version number).</summary>
public readonly record struct VersionOptions(string Kind, int? Version = null)
{
    public static readonly VersionOptions Latest = new("Latest");
    public static readonly VersionOptions Published = new("Published");
    public static readonly VersionOptions LatestOrPublished = new("LatestOrPublished");
    public static readonly VersionOptions LatestAndPublished = new("LatestAndPublished");
    public static readonly VersionOptions Draft = new("Draft");
    public static readonly VersionOptions AllVersions = new("AllVersions");

    public static VersionOptions SpecificVersion(int version) => new("SpecificVersion", version);

    /// <summary>Parses Studio's query value; empty means all versions.</summary>
    public static VersionOptions Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return AllVersions;
        if (int.TryParse(text, out var version)) return SpecificVersion(version);
        foreach (var known in new[] { Latest, Published, LatestOrPublished, LatestAndPublished, Draft, AllVersions })
            if (string.Equals(known.Kind, text, StringComparison.OrdinalIgnoreCase)) return known;
        throw new FormatException($"Unknown versionOptions '{text}'.");
    }

    public override string ToString() => Version is { } v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : Kind;
}

public sealed record PagedResult<T>(IReadOnlyList<T> Items, long TotalCount);
