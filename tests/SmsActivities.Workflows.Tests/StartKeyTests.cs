using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Persistence;
using static SmsActivities.Workflows.Tests.J;

namespace SmsActivities.Workflows.Tests;

/// <summary>
/// Two processes ran the same start and the other committed first: the unique start key fails this commit, and the
/// instance that stands is the other's (a new instance's row is inserted by hand, not by EF, so the failure must still
/// reach the starter as the <see cref="DbUpdateException"/> it handles).
/// </summary>
public class StartKeyTests
{
    [Theory, MemberData(nameof(TestStore.Providers), MemberType = typeof(TestStore))]
    public async Task A_start_whose_key_another_process_committed_first_is_discarded_and_the_other_instance_stands(string provider)
    {
        await using var db = await TestStore.CreateAsync(provider);
        await using var host = await TestHost.StartAsync(db, configure: o => o.AddActivity<RivalStart>());
        await host.PublishAsync("rival",
            Arr(Act("Event1", "Elsa.Event", $"\"eventName\":{Lit("begin")},\"customProperties\":{{\"canStartWorkflow\":true}}"), Act("Rival1", "Test.RivalStart")),
            Arr(Conn("Event1", "Rival1")));

        var result = await host.Runtime.SendStimulusAsync(new Stimulus("Elsa.Event", new System.Text.Json.Nodes.JsonObject { ["eventName"] = "begin" }));

        Assert.Empty(result.Runs);
        await using var context = await host.Services.GetRequiredService<IDbContextFactory<WorkflowDbContext>>().CreateDbContextAsync();
        var rival = Assert.Single(await context.Instances.AsNoTracking().ToListAsync());
        Assert.Equal("rival-start", rival.Id);
    }

    /// <summary>While its run goes on, "another process" commits an instance under the run's start key: the id of the start's delivery, the only one there is.</summary>
    [Activity("Test", "Testing")]
    public sealed class RivalStart : Activity
    {
        protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
        {
            var factory = context.GetService<IDbContextFactory<WorkflowDbContext>>()!;
            await using (var db = await factory.CreateDbContextAsync(context.CancellationToken))
            {
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var delivery = await db.Deliveries.Select(d => d.Id).SingleAsync(context.CancellationToken);
                db.Instances.Add(new InstanceRow
                {
                    Id = "rival-start", StartKey = delivery, DefinitionId = "other", DefinitionVersionId = "other",
                    Status = "Finished", SubStatus = "Finished", CreatedAt = now, UpdatedAt = now, FinishedAt = now, StateJson = "{}",
                });
                await db.SaveChangesAsync(context.CancellationToken);
            }
            await context.CompleteActivityAsync();
        }
    }
}
