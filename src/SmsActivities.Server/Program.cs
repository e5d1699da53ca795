using SmsActivities.Server.Hosting;

// SmsActivities server. With no configuration: SQLite under ./data, sandbox mode (vendor emulators in-process),
// Elsa Studio at /studio, the Studio-facing Elsa API at /elsa/api behind an API key.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddSmsActivitiesServer(builder.Configuration, builder.Environment);

var app = builder.Build();
app.UseSmsActivitiesServer();
await app.RunAsync();

/// <summary>The entry point, visible to the tests' <c>WebApplicationFactory</c>.</summary>
public partial class Program;
