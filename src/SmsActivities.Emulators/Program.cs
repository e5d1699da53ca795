using SmsActivities.Emulators;

// Standalone: all four vendor emulators on one port, each under /{vendor}/.
//   dotnet run --project src/SmsActivities.Emulators -- --urls http://127.0.0.1:5080 [--time-scale 0.01]
var builder = WebApplication.CreateSlimBuilder(args);
var app = builder.Build();
await using var set = new EmulatorSet(TimeProvider.System, app.Services.GetRequiredService<ILoggerFactory>());
set.Clock.Scale = app.Configuration.GetValue("time-scale", 1.0);
app.UseVendorEmulators(set);
app.MapVendorEmulators(set);
app.Logger.LogInformation("Vendor emulators: {Vendors}", string.Join(", ", set.All.Select(e => "/" + e.Vendor + "/")));
await app.RunAsync();
