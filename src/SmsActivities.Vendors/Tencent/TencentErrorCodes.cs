namespace SmsActivities.Vendors.Tencent;

/// <summary>The v5 <c>result</c> codes the client and the emulator rely on (Tencent's v5 error-code table).</summary>
public static class TencentErrorCodes
{
    public const int Ok = 0;
    public const int SigMismatch = 1001;
    public const int SensitiveWords = 1002;
    public const int SigMissing = 1003;
    public const int MalformedRequest = 1004;
    public const int OtherError = 1007;
    public const int VendorTimeout = 1008;
    public const int UnknownApi = 1011;
    public const int SignNotApproved = 1012;
    public const int FrequencyLimit = 1013;
    public const int TemplateMismatch = 1014;
    public const int BadMobile = 1016;
    public const int TextTooLong = 1017;
    public const int UnknownSdkAppId = 1019;
    public const int TimeOutOfWindow = 1021;
    public const int MixedRegions = 1034;
    public const int RegionNotSupported = 1045;
    public const int TooManyMobiles = 1046;
    public const int ServiceTimeout = 60008;

    /// <summary>Only Tencent's own timeouts can succeed when simply sent again; every other code is a rejection.</summary>
    public static bool IsTransient(int result) => result is VendorTimeout or ServiceTimeout;
}
