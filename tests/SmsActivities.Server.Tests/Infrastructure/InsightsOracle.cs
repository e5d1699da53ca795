using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Persistence;

namespace SmsActivities.Server.Tests.Infrastructure;

/// <summary>What the insights numbers must be, counted here row by row in memory from the send records themselves.</summary>
public sealed record ExpectedFunnel(int Messages, int Sent, int Accepted, int Rejected, int InDoubt, int Delivered, int Failed, int AwaitingReport, int Replies, int OptOuts, decimal Fees)
{
    public static async Task<ExpectedFunnel> ForInstanceAsync(IServiceProvider services, string instanceId, string? vendor = null)
    {
        var (rows, reports) = await RowsAsync(services, r => r.InstanceId == instanceId && (vendor == null || r.Vendor == vendor));
        return Of(rows, reports);
    }

    /// <summary>The send records that match, and every delivery report by vendor and message id.</summary>
    public static async Task<(IReadOnlyList<SendRecordEntity> Rows, IReadOnlyDictionary<(string Vendor, string MessageId), DeliveryReportEntity> Reports)> RowsAsync(
        IServiceProvider services, System.Linq.Expressions.Expression<Func<SendRecordEntity, bool>> where)
    {
        var factory = services.GetRequiredService<IDbContextFactory<SmsActivitiesDbContext>>();
        await using var db = await factory.CreateDbContextAsync();
        var rows = await db.SendRecords.AsNoTracking().Where(where).ToListAsync();
        var reports = await db.DeliveryReports.AsNoTracking().ToListAsync();
        return (rows, reports.ToDictionary(d => (d.Vendor, d.MessageId)));
    }

    public static ExpectedFunnel Of(IReadOnlyList<SendRecordEntity> all, IReadOnlyDictionary<(string Vendor, string MessageId), DeliveryReportEntity> reports)
    {
        var rows = all.Where(r => !r.Mobile.Contains('@', StringComparison.Ordinal)).ToArray();
        var accepted = rows.Where(r => r.Status == SendRecordStatus.Accepted).ToArray();
        string? Report(SendRecordEntity r) => r.MessageId is not null && reports.TryGetValue((r.Vendor, r.MessageId), out var d) ? d.Status : null;
        return new ExpectedFunnel(
            rows.Length,
            rows.Count(r => r.Status is SendRecordStatus.Accepted or SendRecordStatus.Rejected or SendRecordStatus.InDoubt),
            accepted.Length,
            rows.Count(r => r.Status == SendRecordStatus.Rejected),
            rows.Count(r => r.Status == SendRecordStatus.InDoubt),
            accepted.Count(r => Report(r) == "Delivered"),
            accepted.Count(r => Report(r) == "Failed"),
            accepted.Count(r => Report(r) is not ("Delivered" or "Failed")),
            rows.Count(r => r.RepliedAtTicks != null),
            rows.Count(r => r.OptedOut),
            rows.Sum(r => r.Fee ?? 0m));
    }

    /// <summary>The same numbers as the insights API answered them (a <c>funnel</c> object).</summary>
    public static ExpectedFunnel FromApi(System.Text.Json.Nodes.JsonNode funnel)
    {
        int N(string name) => funnel[name]!.GetValue<int>();
        return new ExpectedFunnel(N("messages"), N("sent"), N("accepted"), N("rejected"), N("inDoubt"), N("delivered"), N("failed"), N("awaitingReport"),
            N("replies"), N("optOuts"), funnel["fees"]!.GetValue<decimal>());
    }

    public override string ToString() =>
        $"messages {Messages}, sent {Sent}, accepted {Accepted}, refused {Rejected}, in doubt {InDoubt}, delivered {Delivered}, failed {Failed}, awaiting {AwaitingReport}, replies {Replies}, opt-outs {OptOuts}, fees {Fees}";
}
