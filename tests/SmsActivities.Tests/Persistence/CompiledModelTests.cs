using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Design.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Scaffolding;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Persistence;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Tests.Persistence;

/// <summary>
/// The compiled EF Core models checked in beside each context must be what `dotnet ef dbcontext optimize` makes of the
/// context's model today: a model changed without regenerating them would run on the old one. Fails with the command
/// that regenerates them (README, "Schema changes").
/// </summary>
public partial class CompiledModelTests
{
    public static TheoryData<string, string> Contexts => new()
    {
        { "SmsActivities.Workflows", "SqliteWorkflowDbContext" },
        { "SmsActivities.Workflows", "PostgresWorkflowDbContext" },
        { "SmsActivities", "SqliteSmsDbContext" },
        { "SmsActivities", "PostgresSmsDbContext" },
    };

    [Theory]
    [MemberData(nameof(Contexts))]
    public void Checked_in_compiled_model_matches_the_context(string project, string contextName)
    {
        var assembly = project == "SmsActivities" ? typeof(SmsActivitiesDbContext).Assembly : typeof(DatabaseSettings).Assembly;
        using var context = CreateDesignTimeContext(assembly, contextName);
        var provider = contextName.StartsWith("Sqlite", StringComparison.Ordinal) ? "Sqlite" : "Postgres";
        var folder = Path.Combine(RepositoryRoot(), "src", project, "Persistence", "CompiledModels", provider);
        var options = new CompiledModelCodeGenerationOptions
        {
            ContextType = context.GetType(),
            ModelNamespace = $"{project}.Persistence.CompiledModels.{provider}",
            Language = "C#",
            UseNullableReferenceTypes = true,
        };
#pragma warning disable EF1001 // The design-time service builder `dotnet ef` itself uses.
        var services = new DesignTimeServicesBuilder(assembly, assembly, new OperationReporter(handler: null), []).Build(context);
#pragma warning restore EF1001
        var generated = services.GetRequiredService<ICompiledModelCodeGeneratorSelector>().Select(options)
            .GenerateModel(context.GetService<IDesignTimeModel>().Model, options);

        var regenerate = $"regenerate it: dotnet ef dbcontext optimize --project src/{project} --context {contextName} " +
            $"--output-dir Persistence/CompiledModels/{provider} --namespace {options.ModelNamespace}";
        Assert.True(Directory.Exists(folder), $"No compiled model in {folder}; {regenerate}");
        Assert.Equal(generated.Select(f => f.Path).Order(StringComparer.Ordinal),
            Directory.GetFiles(folder, "*.cs").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var file in generated)
            Assert.True(Normalize(File.ReadAllText(Path.Combine(folder, file.Path))) == Normalize(file.Code),
                $"{file.Path} in {folder} is stale against {contextName}'s model; {regenerate}");
    }

    private static DbContext CreateDesignTimeContext(Assembly assembly, string contextName)
    {
        var factory = assembly.GetTypes().Single(t => t.GetInterfaces().Any(i =>
            i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDesignTimeDbContextFactory<>) && i.GetGenericArguments()[0].Name == contextName));
        var create = factory.GetMethod(nameof(IDesignTimeDbContextFactory<DbContext>.CreateDbContext))!;
        return (DbContext)create.Invoke(Activator.CreateInstance(factory, nonPublic: true), [Array.Empty<string>()])!;
    }

    // The generator writes a byte order mark, the platform's line ends and a new random model id each time; none of
    // them is part of the model.
    private static string Normalize(string code) =>
        ModelId().Replace(code.TrimStart('\uFEFF').ReplaceLineEndings("\n"), "modelId: new Guid()");

    [GeneratedRegex("""modelId: new Guid\("[0-9a-f-]+"\)""")]
    private static partial Regex ModelId();

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SmsActivities.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("SmsActivities.sln not found above the test assembly");
    }
}
