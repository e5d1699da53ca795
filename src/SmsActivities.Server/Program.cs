using SmsActivities.Server.Hosting;

// SmsActivities server. With no configuration: SQLite under ./data, sandbox mode (vendor emulators in-process),
// Elsa Studio at /studio, the Studio-facing Elsa API at /elsa/api behind an API key.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSmsActivitiesServer(builder.Configuration, builder.Environment);
// A start that fails throws out of RunAsync, where it is reported once (below: a database not migrated, as only the
// message that says what to run); the host's own "Hosting failed to start" error, the same exception again, is left out.
var started = false;
builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", level => level >= LogLevel.Information && (started || level < LogLevel.Error));

var app = builder.Build();
app.UseSmsActivitiesServer();
app.Lifetime.ApplicationStarted.Register(() => started = true);
try
{
    await app.RunAsync();
}
catch (SmsActivities.Workflows.Persistence.DatabaseNotMigratedException e)
{
    // A database the pipeline has not migrated yet: the message says what to run, a stack trace would bury it.
    await Console.Error.WriteLineAsync(e.Message);
    return 1;
}
return 0;

/// <summary>The entry point, visible to the tests' <c>WebApplicationFactory</c>.</summary>
public partial class Program;
