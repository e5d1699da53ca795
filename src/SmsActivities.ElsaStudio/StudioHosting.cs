using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using SmsActivities.Server.Hosting;

namespace SmsActivities.Server.Studio;

/// <summary>
/// Serves Elsa Studio (npm <c>@elsa-workflows/elsa-studio-wasm</c>) at <c>/studio</c>: the package's static files
/// (with the <c>.dat</c> MIME type and its pre-compressed copies) and our own host page, which replaces the
/// package's <c>index.html</c> (that one uses an unregistered element name and renders nothing).
/// </summary>
public static class StudioHosting
{
    public const string PathBase = "/studio";

    /// <summary>Locates the unpacked Studio package: configuration, then the folder the build installed it into.</summary>
    public static string? ResolvePackageDirectory(ServerOptions options, IHostEnvironment environment)
    {
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.StudioPath)) candidates.Add(options.StudioPath);
        candidates.Add(Path.Combine(environment.ContentRootPath, "studio-npm", "node_modules", "@elsa-workflows", "elsa-studio-wasm"));
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
            "Elsa Studio is not installed. It is installed by the build (npm ci in src/SmsActivities.Server/studio-npm); " +
            "run `dotnet build src/SmsActivities.Server` with npm on the PATH, or set Server:StudioPath to an unpacked " +
            "@elsa-workflows/elsa-studio-wasm package.", statusCode: StatusCodes.Status503ServiceUnavailable)).ExcludeFromDescription();
        return routes;
    }

    private static async Task WriteHostPageAsync(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<ServerOptions>>().Value;
        var environment = context.RequestServices.GetRequiredService<IHostEnvironment>();
        // The key is put into the page only where it is the documented sandbox/development default; a real key is
        // typed into the page by the user (kept in the browser's local storage), never served to anonymous callers.
        var embeddedKey = ApiKeys.IsDefaultKey(options, environment) ? ApiKeys.Effective(options, environment) : null;
        var config = JsonSerializer.Serialize(new { basePath = PathBase + "/", api = "/elsa/api", apiKey = embeddedKey });
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
