using System.Diagnostics.CodeAnalysis;

namespace SmsActivities.Vendors;

/// <summary>
/// A phone number held in E.164 (<c>+8613800138000</c>) with its country calling code split off, so each
/// vendor can format it its own way (Tencent nationcode + mobile, YANINGAI number + codeId, Yunpian
/// "+cc…" for international).
/// </summary>
public readonly record struct PhoneNumber
{
    private PhoneNumber(int countryCode, string nationalNumber)
    {
        CountryCode = countryCode;
        NationalNumber = nationalNumber;
    }

    public int CountryCode { get; }
    public string NationalNumber { get; }
    public string E164 => $"+{CountryCode}{NationalNumber}";
    public bool IsChinaMainland => CountryCode == 86;

    public override string ToString() => E164;

    /// <summary>
    /// Parses "+cc…" (E.164), "00cc…", or a national number that is taken to be in <paramref name="defaultCountryCode"/>
    /// (China mainland by default, as every vendor here is Chinese). Spaces, dashes and brackets are ignored.
    /// </summary>
    public static PhoneNumber Parse(string? input, int defaultCountryCode = 86, string field = "mobile")
    {
        if (!TryParse(input, out var number, out var error, defaultCountryCode))
            throw new VendorValidationException(field, error);
        return number;
    }

    public static bool TryParse(string? input, out PhoneNumber number, [NotNullWhen(false)] out string? error, int defaultCountryCode = 86)
    {
        number = default;
        if (string.IsNullOrWhiteSpace(input))
        {
            error = "must not be empty";
            return false;
        }

        var digits = new System.Text.StringBuilder(input.Length);
        var international = false;
        for (var i = 0; i < input.Length; i++)
        {
            var c = input[i];
            if (c is ' ' or '-' or '(' or ')' or '.') continue;
            if (c == '+' && digits.Length == 0 && !international) { international = true; continue; }
            if (c is < '0' or > '9')
            {
                error = $"'{Mask(input)}' is not a phone number: only digits, an optional leading '+', spaces and dashes are allowed";
                return false;
            }
            digits.Append(c);
        }

        var all = digits.ToString();
        if (!international && all.StartsWith("00", StringComparison.Ordinal))
        {
            international = true;
            all = all[2..];
        }

        int countryCode;
        string national;
        if (international)
        {
            if (!CountryCallingCodes.TrySplit(all, out countryCode, out national))
            {
                error = $"'{Mask(input)}' does not start with a known country calling code";
                return false;
            }
        }
        else
        {
            countryCode = defaultCountryCode;
            national = all;
        }

        if (countryCode == 86)
        {
            // China mainland mobiles: 11 digits starting with 1 (13x–19x).
            if (national.Length != 11 || national[0] != '1' || national[1] < '3')
            {
                error = $"'{Mask(input)}' is not a China mainland mobile number: expected 11 digits starting with 13–19";
                return false;
            }
        }
        else if (national.Length < 4 || all.Length > 15 || national.Length + countryCode.ToString(System.Globalization.CultureInfo.InvariantCulture).Length > 15)
        {
            error = $"'{Mask(input)}' is not a valid E.164 number: 4 to 15 digits after the country code are allowed, 15 in all";
            return false;
        }

        number = new PhoneNumber(countryCode, national);
        error = null;
        return true;
    }

    /// <summary>Numbers are personal data: error messages show only their head and tail.</summary>
    public static string Mask(string value) =>
        value.Length <= 7 ? new string('*', value.Length) : $"{value[..3]}****{value[^4..]}";
}
