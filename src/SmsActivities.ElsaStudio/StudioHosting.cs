using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace SmsActivities.ElsaStudio;

/// <summary>
/// Serves Elsa Studio (npm <c>@elsa-workflows/elsa-studio-wasm</c>) at <c>/studio</c>: the package's static files
/// (with the <c>.dat</c> MIME type and its pre-compressed copies) and our own host page, which replaces the
/// package's <c>index.html</c> (that one uses an unregistered element name and renders nothing).
/// </summary>
public static class StudioHosting
{
    public const string PathBase = "/studio";

    /// <summary>Folder (under the app's output) that the NuGet package copies the Studio files to.</summary>
    public const string OutputFolder = "elsa-studio";

    /// <summary>
    /// Registers the Studio host: <paramref name="configure"/> says where the API is and, for a local sandbox only,
    /// which API key to embed in the page.
    /// </summary>
    public static IServiceCollection AddElsaStudio(this IServiceCollection services, Action<ElsaStudioOptions>? configure = null)
    {
        var options = services.AddOptions<ElsaStudioOptions>();
        if (configure is not null) options.Configure(configure);
        return services;
    }

    /// <summary>
    /// Serves Studio at <c>/studio</c> (static files, the host page, deep links); when the Studio files are missing,
    /// <c>/studio</c> answers 503 with what to do. Call on the app after <see cref="AddElsaStudio"/>.
    /// </summary>
    public static WebApplication UseElsaStudio(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<ElsaStudioOptions>>().Value;
        var directory = ResolvePackageDirectory(options.PackagePath, app.Environment);
        if (directory is null)
        {
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SmsActivities.ElsaStudio")
                .LogWarning("Elsa Studio files not found; /studio is unavailable. Reference the SmsActivities.ElsaStudio package (it copies them to {Folder}/) or set ElsaStudioOptions.PackagePath.", OutputFolder);
            app.MapMissingStudio();
            return app;
        }
        app.UseElsaStudio(directory);
        app.MapElsaStudioPages();
        return app;
    }

    /// <summary>
    /// Locates the unpacked Studio package: the configured folder, the copy beside the app (from the NuGet package),
    /// then the folder the repository's build installed it into.
    /// </summary>
    public static string? ResolvePackageDirectory(string? configured, IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(configured)) candidates.Add(configured);
        candidates.Add(Path.Combine(AppContext.BaseDirectory, OutputFolder));
        candidates.Add(Path.Combine(environment.ContentRootPath, OutputFolder));
        var built = typeof(StudioHosting).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "StudioPackageDir")?.Value;
        if (!string.IsNullOrEmpty(built)) candidates.Add(built);
        return candidates.Select(Path.GetFullPath).FirstOrDefault(dir => File.Exists(Path.Combine(dir, "_framework", "blazor.webassembly.js")));
    }

    /// <summary>
    /// Adds the Studio middleware. Call before <c>UseRouting</c>: static files must be served before the
    /// host page's catch-all endpoint is selected.
    /// </summary>
    public static IApplicationBuilder UseElsaStudio(this IApplicationBuilder app, string packageDirectory)
    {
        var files = new PhysicalFileProvider(packageDirectory);
        var contentTypes = new FileExtensionContentTypeProvider();
        contentTypes.Mappings[".dat"] = "application/octet-stream"; // ICU data; ASP.NET Core has no mapping for it
        contentTypes.Mappings[".webmanifest"] = "application/manifest+json";

        // The host page for the Studio root; the package's own index.html and appsettings.json are not served.
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? string.Empty;
            if (path.Equals(PathBase, StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Redirect(PathBase + "/" + context.Request.QueryString);
                return;
            }
            if (path.Equals(PathBase + "/", StringComparison.OrdinalIgnoreCase) || path.Equals(PathBase + "/index.html", StringComparison.OrdinalIgnoreCase))
            {
                await WriteHostPageAsync(context).ConfigureAwait(false);
                return;
            }
            if (path.Equals(PathBase + "/appsettings.json", StringComparison.OrdinalIgnoreCase))
            {
                // Studio's Backend:Url is ignored by the custom elements; answer an empty configuration.
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{}", context.RequestAborted).ConfigureAwait(false);
                return;
            }
            await next(context).ConfigureAwait(false);
        });

        // Pre-compressed copies (.br, then .gz) when the browser accepts them: 12 MB instead of 64 MB.
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? string.Empty;
            if (HttpMethods.IsGet(context.Request.Method) && path.StartsWith(PathBase + "/", StringComparison.OrdinalIgnoreCase)
                && contentTypes.TryGetContentType(path, out var contentType))
            {
                var relative = path[(PathBase.Length + 1)..];
                var accept = context.Request.Headers.AcceptEncoding.ToString();
                foreach (var (encoding, suffix) in new[] { ("br", ".br"), ("gzip", ".gz") })
                {
                    if (!accept.Contains(encoding, StringComparison.OrdinalIgnoreCase) || !files.GetFileInfo(relative + suffix).Exists) continue;
                    context.Request.Path = path + suffix;
                    context.Response.OnStarting(() =>
                    {
                        context.Response.Headers.ContentType = contentType;
                        context.Response.Headers.ContentEncoding = encoding;
                        context.Response.Headers.Append(HeaderNames.Vary, HeaderNames.AcceptEncoding);
                        return Task.CompletedTask;
                    });
                    break;
                }
            }
            await next(context).ConfigureAwait(false);
        });

        var compressedTypes = new FileExtensionContentTypeProvider();
        foreach (var (extension, type) in contentTypes.Mappings.ToList())
        {
            compressedTypes.Mappings[extension] = type;
        }
        compressedTypes.Mappings[".br"] = "application/octet-stream";
        compressedTypes.Mappings[".gz"] = "application/octet-stream";

        return app.UseStaticFiles(new StaticFileOptions
        {
            RequestPath = PathBase,
            FileProvider = files,
            ContentTypeProvider = compressedTypes,
            OnPrepareResponse = ctx =>
            {
                // _framework file names are fingerprinted; everything else may change with a package upgrade.
                var cache = ctx.Context.Request.Path.Value!.Contains("/_framework/", StringComparison.Ordinal)
                    ? "public, max-age=31536000, immutable"
                    : "no-cache";
                ctx.Context.Response.Headers.CacheControl = cache;
            },
        });
    }

    /// <summary>Deep links (<c>/studio/workflows/…</c>, e.g. after Run or a reload) get the host page too.</summary>
    public static IEndpointRouteBuilder MapElsaStudioPages(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(PathBase + "/workflows/{**rest}", WriteHostPageAsync).ExcludeFromDescription();
        return routes;
    }

    /// <summary>When the Studio package is missing, /studio explains how to install it instead of 404.</summary>
    public static IEndpointRouteBuilder MapMissingStudio(this IEndpointRouteBuilder routes)
    {
        routes.MapGet(PathBase + "/{**rest}", () => Results.Text(
            "Elsa Studio is not installed. The SmsActivities.ElsaStudio package copies it beside the app (elsa-studio/); in the " +
            "repository the build installs it (npm ci in src/SmsActivities.ElsaStudio/studio-npm, npm on the PATH). Or set " +
            "Server:StudioPath to an unpacked @elsa-workflows/elsa-studio-wasm package.", statusCode: StatusCodes.Status503ServiceUnavailable)).ExcludeFromDescription();
        return routes;
    }

    private static async Task WriteHostPageAsync(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<ElsaStudioOptions>>().Value;
        var config = JsonSerializer.Serialize(new { basePath = PathBase + "/", api = options.ApiPath, apiKey = options.EmbeddedApiKey });
        var page = HostPageTemplate.Value.Replace("/*{{CONFIG}}*/null", config, StringComparison.Ordinal);
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.WriteAsync(page, context.RequestAborted).ConfigureAwait(false);
    }

    private static readonly Lazy<string> HostPageTemplate = new(() =>
    {
        using var stream = typeof(StudioHosting).Assembly.GetManifestResourceStream("SmsActivities.Server.Studio.host.html")
            ?? throw new InvalidOperationException("host.html resource missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });
}
