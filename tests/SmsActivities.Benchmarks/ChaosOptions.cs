using System.Globalization;

namespace SmsActivities.Benchmarks;

/// <summary>
/// The sizes of a chaos run. <c>--scale</c> multiplies the full sizes (1,000 OTP sends, 1,000 surveys, a 10,000-recipient
/// campaign, 100,000 fuzzed pushes); <c>--otp</c>, <c>--surveys</c>, <c>--recipients</c> and <c>--pushes</c> set one size outright.
/// </summary>
internal sealed record ChaosOptions(int Otp, int Surveys, int Recipients, int Pushes, double FaultRate, int Callers, bool Keep)
{
    public static ChaosOptions Parse(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var scale = double.Parse(Arg("--scale") ?? "1", CultureInfo.InvariantCulture);
        if (scale is <= 0 or > 10) throw new ArgumentOutOfRangeException(nameof(args), scale, "--scale must be above 0 and at most 10");
        int Size(string name, int full)
        {
            var size = Arg(name) is { } given ? int.Parse(given, CultureInfo.InvariantCulture) : Math.Max(1, (int)Math.Round(full * scale));
            return size >= 1 ? size : throw new ArgumentOutOfRangeException(nameof(args), size, $"{name} must be at least 1");
        }
        var rate = double.Parse(Arg("--fault-rate") ?? "0.2", CultureInfo.InvariantCulture);
        if (rate is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(args), rate, "--fault-rate must be between 0 and 1");
        var callers = int.Parse(Arg("--callers") ?? "8", CultureInfo.InvariantCulture);
        if (callers < 1) throw new ArgumentOutOfRangeException(nameof(args), callers, "--callers must be at least 1");
        return new ChaosOptions(Size("--otp", 1_000), Size("--surveys", 1_000), Size("--recipients", 10_000), Size("--pushes", 100_000), rate, callers, args.Contains("--keep"));
    }

    public override string ToString() =>
        $"{Otp:N0} OTP sends ({FaultRate:P0} ambiguous faults), {Surveys:N0} surveys, campaign of {Recipients:N0}, {Pushes:N0} fuzzed pushes, {Callers} callers";
}
