using SmsActivities.ElsaApi;
using SmsActivities.Hosting;
using SmsActivities.Sandbox;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddSmsActivities(builder.Configuration, sms => sms
    .UseSandboxVendors()                                              // every vendor emulated in-process; drop for real accounts
    .UseSqlite(builder.Configuration["DataDirectory"] ?? "data")
    .AddWorkflow<WelcomeSms>()                                        // C#
    .AddWorkflowsFrom(Path.Combine(AppContext.BaseDirectory, "workflows"))); // JSON (Elsa 3 format)
builder.Services.AddElsaApi(api => api.ApiKey = builder.Configuration["ElsaApi:Key"]);

var app = builder.Build();
app.MapSmsActivities();
app.MapElsaApi("/elsa/api");
app.Run();
