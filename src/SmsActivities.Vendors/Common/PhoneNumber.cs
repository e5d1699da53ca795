using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using PhoneNumbers;
using Lib = PhoneNumbers.PhoneNumber;

namespace SmsActivities.Vendors;

/// <summary>
/// A valid phone number, held as its country calling code, national significant number and region (ISO 3166 "CN",
/// "HK", "GB"; "001" for non-geographic numbers), parsed and checked by libphonenumber. Each vendor formats it its own
/// way (Tencent nationcode + national number, Yunpian "+cc…" for international, YANINGAI number + codeId of the region).
/// </summary>
public readonly record struct PhoneNumber
{
    /// <summary>The region national-format numbers are read in when nothing else is configured: every vendor here is Chinese.</summary>
    public const string FallbackRegion = "CN";

    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    private readonly string? _e164;

    private PhoneNumber(int countryCode, string nationalNumber, string region)
    {
        CountryCode = countryCode;
        NationalNumber = nationalNumber;
        Region = region;
        // Formatted once: sends, records and results name a number by it several times each (a campaign's 20,000
        // numbers formatted it about ten times apiece).
        _e164 = "+" + countryCode.ToString(System.Globalization.CultureInfo.InvariantCulture) + nationalNumber;
    }

    public int CountryCode { get; }

    /// <summary>The national significant number: no country code and no national trunk prefix ("0" in GB, none in CN).</summary>
    public string NationalNumber { get; }

    /// <summary>The region the number belongs to (quiet hours and routing can use it).</summary>
    public string Region { get; }

    public string E164 => _e164 ?? $"+{CountryCode}{NationalNumber}";
    public bool IsChinaMainland => CountryCode == 86;

    public override string ToString() => E164;

    /// <summary>
    /// The IANA time zones the number may be in, from its country and, where the plan tells, its area code (one for most
    /// countries, several for e.g. a US mobile). Empty when nothing can be told (a non-geographic number).
    /// </summary>
    public IReadOnlyList<string> TimeZoneIds()
    {
        var mapper = PhoneNumberToTimeZonesMapper.GetInstance();
        var unknown = mapper.GetUnknownTimeZone();
        return mapper.GetTimeZonesForNumber(Util.Parse(E164, null)).Where(z => z != unknown).ToArray();
    }

    /// <summary>
    /// Parses "+cc…" (E.164), the international dialling form of <paramref name="defaultRegion"/> ("00cc…" in CN), or a
    /// national number of <paramref name="defaultRegion"/> (<see cref="FallbackRegion"/> when null). Spaces, dashes,
    /// dots and brackets are ignored. Throws a <see cref="VendorValidationException"/> naming <paramref name="field"/>.
    /// </summary>
    public static PhoneNumber Parse(string? input, string? defaultRegion = null, string field = "mobile")
    {
        if (!TryParse(input, out var number, out var error, defaultRegion))
            throw new VendorValidationException(field, error);
        return number;
    }

    public static bool TryParse(string? input, out PhoneNumber number, [NotNullWhen(false)] out string? error, string? defaultRegion = null)
    {
        number = default;
        if (string.IsNullOrWhiteSpace(input))
        {
            error = "must not be empty";
            return false;
        }
        // libphonenumber also reads letters (vanity numbers) and extensions; neither reaches a handset by SMS.
        if (input.Any(c => !(char.IsAsciiDigit(c) || c is '+' or ' ' or '-' or '(' or ')' or '.')) || input.LastIndexOf('+') > input.IndexOf('+'))
        {
            error = $"'{Mask(input)}' is not a phone number: only digits, an optional leading '+', spaces, dashes, dots and brackets are allowed";
            return false;
        }

        var region = defaultRegion ?? FallbackRegion;
        Lib parsed;
        try
        {
            parsed = Util.Parse(input, region);
        }
        catch (NumberParseException ex)
        {
            error = ex.ErrorType == ErrorType.INVALID_COUNTRY_CODE
                ? $"'{Mask(input)}' does not start with a known country calling code (or '{region}' is not a region)"
                : $"'{Mask(input)}' is not a phone number ({ex.ErrorType.ToString().ToLowerInvariant().Replace('_', ' ')})";
            return false;
        }

        if (!Util.IsValidNumber(parsed))
        {
            var numberRegion = Util.GetRegionCodeForCountryCode(parsed.CountryCode);
            error = $"'{Mask(input)}' is not a valid number of region {numberRegion} (+{parsed.CountryCode}): wrong length or an unassigned range";
            return false;
        }

        number = new PhoneNumber(parsed.CountryCode, Util.GetNationalSignificantNumber(parsed), Util.GetRegionCodeForNumber(parsed));
        error = null;
        return true;
    }

    /// <summary>True for a region libphonenumber knows (ISO 3166 alpha-2, upper case), such as "CN" or "GB".</summary>
    public static bool IsKnownRegion(string? region) => region is not null && Util.GetSupportedRegions().Contains(region);

    /// <summary>Numbers are personal data: error messages show only their head and tail.</summary>
    public static string Mask(string value) =>
        value.Length <= 7 ? new string('*', value.Length) : $"{value[..3]}****{value[^4..]}";
}

/// <summary>Validates a region option: null (inherit) or a region libphonenumber knows.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PhoneRegionAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        value is null || PhoneNumber.IsKnownRegion(value as string)
            ? ValidationResult.Success
            : new ValidationResult($"{validationContext.MemberName}: '{value}' is not a region code (ISO 3166 alpha-2 in upper case, e.g. CN, HK, GB)",
                validationContext.MemberName is null ? null : [validationContext.MemberName]);
}

/// <summary>
/// The region numbers written without a country code are read in, for the whole deployment (<c>Vendors:DefaultRegion</c>):
/// numbers people type and, unless a vendor sets its own <c>DefaultRegion</c>, the numbers vendors report.
/// </summary>
public sealed class PhoneNumberOptions
{
    [PhoneRegion]
    public string DefaultRegion { get; set; } = PhoneNumber.FallbackRegion;
}
