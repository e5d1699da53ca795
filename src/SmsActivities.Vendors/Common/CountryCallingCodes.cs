namespace SmsActivities.Vendors;

/// <summary>
/// ITU-T E.164 country calling codes. Codes are prefix-free, so the first 1–3 digits of an international
/// number name exactly one code. (libphonenumber cannot be had from the package registry here.)
/// </summary>
public static class CountryCallingCodes
{
    private static readonly HashSet<int> OneDigit = [1, 7];

    private static readonly HashSet<int> TwoDigit =
    [
        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58,
        60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
    ];

    // Two-digit zones whose codes are three digits long (e.g. 852 Hong Kong, 886 Taiwan, 971 UAE).
    private static readonly HashSet<int> ThreeDigitZones =
        [21, 22, 23, 24, 25, 26, 29, 35, 37, 38, 42, 50, 59, 67, 68, 69, 80, 85, 87, 88, 96, 97, 99];

    /// <summary>Splits the digits of an international number (no '+') into country code and national number.</summary>
    public static bool TrySplit(string digits, out int countryCode, out string nationalNumber)
    {
        countryCode = 0;
        nationalNumber = string.Empty;
        if (digits.Length < 5 || digits[0] == '0') return false;

        var one = digits[0] - '0';
        var two = one * 10 + (digits[1] - '0');
        if (OneDigit.Contains(one)) { countryCode = one; nationalNumber = digits[1..]; return true; }
        if (TwoDigit.Contains(two)) { countryCode = two; nationalNumber = digits[2..]; return true; }
        if (ThreeDigitZones.Contains(two))
        {
            countryCode = two * 10 + (digits[2] - '0');
            nationalNumber = digits[3..];
            return true;
        }
        return false;
    }
}
