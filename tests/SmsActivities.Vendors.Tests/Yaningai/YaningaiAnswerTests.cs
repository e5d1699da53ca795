using System.Text.Json;
using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Vendors.Tests.Yaningai;

/// <summary>The client's reading of the doc's example answers, and the doc's example requests sent verbatim to the emulator.</summary>
public class YaningaiAnswerTests
{
    [Fact]
    public void Sms_answer_example_names_each_number_and_its_message_id()
    {
        const string doc = """
            {"status": 0, "message": "Submit success", "data": {"success": 2, "fail": 0, "batchNo": "17585983563****",
             "successData": [{"phone": "6282xxxxx6504", "messageId": "54fc4deee43a2fecf9f2eb2e1******"},
                             {"phone": "6285xxxxx8094", "messageId": "619586b720659816ee732050c******"}],
             "failData": []}}
            """;

        var result = YaningaiAnswer.Parse(doc, ["82xxxxx6504", "85xxxxx8094"], 200);

        Assert.Equal((0, "Submit success", 2, 0, "17585983563****"), (result.Status, result.Message, result.Success, result.Fail, result.BatchNo));
        Assert.Equal(["6282xxxxx6504", "6285xxxxx8094"], result.Accepted.Select(a => a.Target));
        Assert.Equal("54fc4deee43a2fecf9f2eb2e1******", result.Accepted[0].MessageId);
        Assert.Empty(result.Rejected);
    }

    [Fact]
    public void Mms_and_voice_notice_answers_carry_counts_and_the_batch_number_spelt_either_way()
    {
        var mms = YaningaiAnswer.Parse("""{"status": 0, "message": "Submit success", "data": {"success": 1, "fail": 0, "batchNo": "16844873111045857"}}""", ["13611111111"], 200);
        var notice = YaningaiAnswer.Parse("""{"status": 0, "message": "Submit success", "data": {"success": 1, "fail": 0, "barchNo": "17352639651064471"}}""", ["13611111111"], 200);

        Assert.Equal("16844873111045857", mms.BatchNo);
        Assert.Equal("17352639651064471", notice.BatchNo);
        Assert.False(notice.HasDetail);
        Assert.Equal(1, notice.Success);
    }

    [Fact]
    public void Voice_otp_and_email_answers_are_target_then_id_rows()
    {
        var otp = YaningaiAnswer.Parse("""{"status": 0, "message": "Submit success", "data": {"success": 1, "fail": 0, "array": [["8615039xxxxxx", "104eadf3d9e314d8e32c18e67ae2f161"]]}}""", ["15039xxxxxx"], 200);
        var email = YaningaiAnswer.Parse("""{"status": 0, "message": "Submit success", "data": {"success": 1, "fail": 0, "array": [["123@qq.com", "038fe903e88bbc736fcaf66e40052238"]]}}""", ["123@qq.com"], 200);

        Assert.Equal(new YaningaiSubmission("8615039xxxxxx", "104eadf3d9e314d8e32c18e67ae2f161"), Assert.Single(otp.Accepted));
        Assert.Equal(new YaningaiSubmission("123@qq.com", "038fe903e88bbc736fcaf66e40052238"), Assert.Single(email.Accepted));
    }

    [Fact]
    public void Described_rows_are_id_then_target_and_a_failed_status_is_a_refusal()
    {
        const string answer = """
            {"status": 0, "message": "Submit success", "data": {"success": 1, "fail": 1, "array": [
              ["48d5112288668ebb049dbb9034402910", "8613611111111", "2023-04-11T16:50:01+08:00", 0, "sending", "b1", "1", "0.1"],
              ["c11d34242000e541f63fbdef3e36b1db", "8613722222222", "2023-04-11T16:50:01+08:00", -9, "number error", "b1", "1", "0.1"]]}}
            """;

        var result = YaningaiAnswer.Parse(answer, ["13611111111", "13722222222"], 200);

        Assert.Equal(new YaningaiSubmission("8613611111111", "48d5112288668ebb049dbb9034402910"), Assert.Single(result.Accepted));
        Assert.Equal(new YaningaiSubmission("8613722222222", "c11d34242000e541f63fbdef3e36b1db"), Assert.Single(result.Rejected));
    }

    [Theory]
    [InlineData("""{"status":-1,"msg":"******"}""", "-1", "******", false)]
    [InlineData("""{"status":-9,"msg":"number error"}""", "-9", "number error", false)]
    [InlineData("""{"status":-15,"msg":"too fast"}""", "-15", "too fast", true)]
    [InlineData("""{"status":3,"message":"Channel not found"}""", "3", "Channel not found", false)]
    public void Error_answers_become_vendor_exceptions_with_the_vendor_status(string body, string code, string message, bool transient)
    {
        var ex = Assert.Throws<VendorException>(() => YaningaiAnswer.Parse(body, ["13611111111"], 200));

        Assert.Equal((VendorNames.Yaningai, code, message, transient), (ex.Vendor, ex.VendorCode, ex.VendorMessage, ex.IsTransient));
    }

    [Theory]
    [InlineData("<html>bad gateway</html>")]
    [InlineData("""{"message":"no status"}""")]
    public void Unreadable_answers_become_vendor_exceptions(string body)
    {
        var ex = Assert.Throws<VendorException>(() => YaningaiAnswer.Parse(body, [], 200));
        Assert.Null(ex.VendorCode);
    }

    [Fact]
    public async Task The_docs_example_requests_are_accepted_by_the_emulator()
    {
        await using var host = await YaningaiSmsTests.StartAsync();
        using var http = new HttpClient { BaseAddress = host.BaseUrlFor(VendorNames.Yaningai) };

        using var get = await http.GetAsync(new Uri("api/v1/sms/sendbatchsms?" + YaningaiTestKit.AuthQuery()
            + "&numbers=13611111111,13722222222&content=helloworld&codeId=10007&action=MARKETING", UriKind.Relative));
        using var getAnswer = JsonDocument.Parse(await get.Content.ReadAsStringAsync());
        Assert.Equal(0, getAnswer.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(["8613611111111", "8613722222222"],
            getAnswer.RootElement.GetProperty("data").GetProperty("successData").EnumerateArray().Select(e => e.GetProperty("phone").GetString()!));

        var post = await YaningaiSmsTests.RawPostAsync(host, "api/v1/sms/sendbatchsms?" + YaningaiTestKit.AuthQuery(),
            """{"numbers":"13611111111,13722222222","content":"helloworld","codeId":"10007","action":"MARKETING"}""");
        var mms = await YaningaiSmsTests.RawPostAsync(host, "api/v1/sms/mssSend?" + YaningaiTestKit.AuthQuery(),
            """{"content":"helloworld","numbers":"13611111111,13722222222","codeId":"10007","title":"hello"}""");
        var notice = await YaningaiSmsTests.RawPostAsync(host, "api/v1/vos/notice?" + YaningaiTestKit.AuthQuery(),
            """{"content":"test","numbers":"13611111111,13722222222","codeId":"10007"}""");
        var otp = await YaningaiSmsTests.RawPostAsync(host, "api/v1/vos/otp?" + YaningaiTestKit.AuthQuery(),
            """{"content":"test","numbers":"15011112222","codeId":"10001"}""");
        var email = await YaningaiSmsTests.RawPostAsync(host, "api/v1/email/sendEmail?" + YaningaiTestKit.AuthQuery(),
            """{"emails":"xxx@163.com","from":"xxxxx","theme":"xxxxx","content":"xxxxx"}""");

        Assert.All(new[] { post, mms, notice, otp, email }, answer => Assert.Equal(0, answer.GetProperty("status").GetInt32()));
        Assert.Equal(2, notice.GetProperty("data").GetProperty("success").GetInt32());
        Assert.True(notice.GetProperty("data").TryGetProperty("barchNo", out _));
        Assert.Equal("8615011112222", otp.GetProperty("data").GetProperty("array")[0][0].GetString());
        Assert.Equal("xxx@163.com", email.GetProperty("data").GetProperty("array")[0][0].GetString());
        Assert.Equal(8, host.Set.Yaningai.Messages.Count(m => m.Kind is "sms" or "mms" or "vos-notice"));
    }
}
