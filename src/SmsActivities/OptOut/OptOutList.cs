using Microsoft.EntityFrameworkCore;
using SmsActivities.Persistence;

namespace SmsActivities.OptOut;

/// <summary>Numbers that asked not to be messaged. SendSms skips and reports them.</summary>
public sealed class OptOutList(IDbContextFactory<SmsActivitiesDbContext> dbFactory, TimeProvider time)
{
    /// <param name="mobile">E.164.</param>
    public async Task AddAsync(string mobile, string? reason, string? vendor, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var existing = await db.OptOuts.FindAsync([mobile], cancellationToken).ConfigureAwait(false);
        if (existing is not null) return;
        db.OptOuts.Add(new OptOutEntity { Mobile = mobile, Reason = reason, Vendor = vendor, AtTicks = time.GetUtcNow().UtcTicks });
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException)
        {
            // Another node opted the same number out first: the outcome is the same.
            if (!await ContainsAsync(mobile, cancellationToken).ConfigureAwait(false)) throw;
        }
    }

    public async Task<bool> RemoveAsync(string mobile, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await db.OptOuts.Where(o => o.Mobile == mobile).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    public async Task<bool> ContainsAsync(string mobile, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await db.OptOuts.AnyAsync(o => o.Mobile == mobile, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Which of <paramref name="mobiles"/> are opted out, in one query.</summary>
    public async Task<IReadOnlySet<string>> FilterOptedOutAsync(IReadOnlyCollection<string> mobiles, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var found = new HashSet<string>(StringComparer.Ordinal);
        // Chunked so a 100k-recipient campaign stays under every provider's parameter limit.
        foreach (var chunk in mobiles.Chunk(500))
        {
            found.UnionWith(await db.OptOuts.Where(o => chunk.Contains(o.Mobile)).Select(o => o.Mobile).ToListAsync(cancellationToken).ConfigureAwait(false));
        }
        return found;
    }
}
