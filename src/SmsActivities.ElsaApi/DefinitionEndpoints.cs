using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Model;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Server.ElsaApi;

/// <summary>
/// Workflow definitions (docs/architecture.md, "The Elsa server API Studio uses"): list, load, save / publish / create (one route),
/// publish, retract, delete, export, import, name check and the bulk actions, on the runtime's
/// <see cref="WorkflowDefinitionService"/> (Elsa's versioning: drafts updated in place, n+1 after a publish).
/// </summary>
public static class DefinitionEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        var definitions = api.MapGroup("/workflow-definitions").WithTags("Workflow definitions");

        definitions.MapGet("", ListAsync);
        definitions.MapGet("/query/count", async (WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, CancellationToken ct) =>
        {
            var page = await service.ListAsync(new DefinitionQuery { VersionOptions = VersionOptions.Latest, PageSize = 1 }, ct);
            return ElsaJson.Ok(new { count = page.TotalCount + codeFirst.All.Count });
        });
        definitions.MapGet("/by-definition-id/{definitionId}", GetByDefinitionIdAsync);
        definitions.MapGet("/{definitionId}", GetByDefinitionIdAsync);
        definitions.MapGet("/by-id/{id}", async (string id, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, StudioModels models, CancellationToken ct) =>
            (await service.GetByIdAsync(id, ct) ?? codeFirst.FindVersion(id)) is { } definition ? ElsaJson.Node(models.ToModel(definition)) : NotFound("version", id));
        definitions.MapGet("/validation/is-name-unique", async (string? name, string? definitionId, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, CancellationToken ct) =>
        {
            var all = await service.ListAsync(new DefinitionQuery { VersionOptions = VersionOptions.Latest, PageSize = int.MaxValue }, ct);
            var unique = !all.Items.Concat(codeFirst.All).Any(d => string.Equals(d.Name?.Trim(), name?.Trim(), StringComparison.OrdinalIgnoreCase) && d.DefinitionId != definitionId);
            return ElsaJson.Ok(new { isUnique = unique });
        });

        definitions.MapPost("", SaveAsync);
        definitions.MapPost("/{definitionId}/publish", async (string definitionId, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, StudioModels models, CancellationToken ct) =>
        {
            if (codeFirst.IsCodeFirst(definitionId)) return ReadOnly(definitionId);
            var before = await service.GetAsync(definitionId, VersionOptions.Latest, ct);
            if (before is null) return NotFound("definition", definitionId);
            try
            {
                var published = await service.PublishAsync(definitionId, ct);
                return SaveResponse(models, published, before.IsPublished, []);
            }
            catch (WorkflowValidationException e)
            {
                return SaveResponse(models, before, false, e.Errors, StatusCodes.Status400BadRequest);
            }
        });
        definitions.MapPost("/{definitionId}/retract", async (string definitionId, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, StudioModels models, CancellationToken ct) =>
        {
            if (codeFirst.IsCodeFirst(definitionId)) return ReadOnly(definitionId);
            if (await service.GetAsync(definitionId, VersionOptions.Latest, ct) is null) return NotFound("definition", definitionId);
            await service.RetractAsync(definitionId, ct);
            var latest = await service.GetAsync(definitionId, VersionOptions.Latest, ct);
            return ElsaJson.Node(models.ToModel(latest!));
        });
        definitions.MapDelete("/{definitionId}", async (string definitionId, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, CancellationToken ct) =>
            codeFirst.IsCodeFirst(definitionId) ? ReadOnly(definitionId)
            : await service.DeleteAsync(definitionId, ct) ? Results.NoContent() : NotFound("definition", definitionId));
        definitions.MapGet("/{definitionId}/export", async (string definitionId, string? versionOptions, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, CancellationToken ct) =>
        {
            if (!TryParseVersionOptions(versionOptions, VersionOptions.Latest, out var options, out var error)) return error;
            if ((await service.GetAsync(definitionId, options, ct) ?? codeFirst.Find(definitionId)) is not { } definition) return NotFound("definition", definitionId);
            return Results.File(Encoding.UTF8.GetBytes(ExportJson(definition)), "application/json", FileNameFor(definition));
        });
        definitions.MapPost("/import", ImportAsync);

        var bulk = api.MapGroup("/bulk-actions").WithTags("Workflow definitions");
        bulk.MapPost("/publish/workflow-definitions/by-definition-ids", async ([FromBody] DefinitionIdsRequest request, WorkflowDefinitionService service, CancellationToken ct) =>
        {
            List<string> published = [], alreadyPublished = [], notFound = [], skipped = [];
            foreach (var id in request.DefinitionIds ?? [])
            {
                var latest = await service.GetAsync(id, VersionOptions.Latest, ct);
                if (latest is null) { notFound.Add(id); continue; }
                if (latest.IsPublished) { alreadyPublished.Add(id); continue; }
                try { await service.PublishAsync(id, ct); published.Add(id); }
                catch (WorkflowValidationException) { skipped.Add(id); }
            }
            return ElsaJson.Ok(new { published, alreadyPublished, notFound, skipped, updatedConsumers = Array.Empty<string>() });
        });
        bulk.MapPost("/retract/workflow-definitions/by-definition-ids", async ([FromBody] DefinitionIdsRequest request, WorkflowDefinitionService service, CancellationToken ct) =>
        {
            List<string> retracted = [], notPublished = [], notFound = [];
            foreach (var id in request.DefinitionIds ?? [])
            {
                var published = await service.GetAsync(id, VersionOptions.Published, ct);
                if (published is null)
                {
                    if (await service.GetAsync(id, VersionOptions.Latest, ct) is null) notFound.Add(id); else notPublished.Add(id);
                    continue;
                }
                await service.RetractAsync(id, ct);
                retracted.Add(id);
            }
            return ElsaJson.Ok(new { retracted, alreadyRetracted = notPublished, notPublished, notFound, skipped = Array.Empty<string>() });
        });
        // The list's bulk "Export": the selected versions as one JSON file each in a zip.
        bulk.MapPost("/export/workflow-definitions", async ([FromBody] VersionIdsRequest request, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, CancellationToken ct) =>
        {
            using var zip = new MemoryStream();
            using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
            {
                var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                foreach (var id in request.Ids ?? [])
                {
                    if ((await service.GetByIdAsync(id, ct) ?? codeFirst.FindVersion(id)) is not { } definition) continue;
                    var name = FileNameFor(definition);
                    for (var n = 2; !names.Add(name); n++) name = $"{Path.GetFileNameWithoutExtension(FileNameFor(definition))}-{n}.json";
                    using var entry = archive.CreateEntry(name).Open();
                    entry.Write(Encoding.UTF8.GetBytes(ExportJson(definition)));
                }
            }
            return Results.File(zip.ToArray(), "application/zip", "workflow-definitions.zip");
        });
        bulk.MapPost("/delete/workflow-definitions/by-definition-id", async ([FromBody] DefinitionIdsRequest request, WorkflowDefinitionService service, CancellationToken ct) =>
        {
            var deleted = 0;
            foreach (var id in request.DefinitionIds ?? [])
                if (await service.DeleteAsync(id, ct)) deleted++;
            return ElsaJson.Ok(new { deleted });
        });
    }

    public sealed record DefinitionIdsRequest(IReadOnlyList<string>? DefinitionIds);

    /// <summary>Version ids (<c>ids</c>) and Elsa's <c>includeConsumingWorkflows</c> (no workflow here consumes another).</summary>
    public sealed record VersionIdsRequest(IReadOnlyList<string>? Ids, bool? IncludeConsumingWorkflows);

    private static string ExportJson(WorkflowDefinition definition) => DefinitionJson.ToModel(definition, withLinks: false).ToJsonString(ExportOptions);

    private static readonly JsonSerializerOptions ExportOptions = new(ElsaJson.Options) { WriteIndented = true };

    private static async Task<IResult> ListAsync(
        HttpRequest request, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, CancellationToken ct,
        string? versionOptions, int? page, int? pageSize, string? searchTerm, string? orderBy, string? orderDirection,
        bool? isSystem, [FromQuery] string[]? definitionIds, [FromQuery] string[]? ids)
    {
        // Studio sends "versionOptions=" (empty) to mean all versions, e.g. when looking instances' versions up by Ids.
        var raw = request.Query.ContainsKey("versionOptions") ? versionOptions ?? "" : null;
        if (!TryParseVersionOptions(raw, VersionOptions.Latest, out var options, out var error)) return error;
        var query = new DefinitionQuery
        {
            VersionOptions = options,
            DefinitionIds = definitionIds is { Length: > 0 } ? definitionIds : null,
            Ids = ids is { Length: > 0 } ? ids : null,
            SearchTerm = string.IsNullOrWhiteSpace(searchTerm) ? null : searchTerm.Trim(),
            Page = Math.Max(0, page ?? 0),
            PageSize = Math.Clamp(pageSize ?? 100, 1, 1000),
            OrderBy = orderBy,
            Descending = string.Equals(orderDirection, "Descending", StringComparison.OrdinalIgnoreCase),
        };
        var result = await service.ListAsync(query, ct);
        // Code-first workflows follow the stored ones, in every order: a page past the stored ones continues with them.
        var codeFirstMatches = isSystem is true ? [] : codeFirst.Matching(query);
        var skipCodeFirst = (int)Math.Max(0, (long)query.Page * query.PageSize - result.TotalCount);
        var rows = result.Items.Concat(codeFirstMatches.Skip(skipCodeFirst).Take(query.PageSize - result.Items.Count));
        var items = rows.Where(d => isSystem is null || d.IsSystem == isSystem).Select(d => (JsonNode)DefinitionJson.ToSummary(d)).ToArray();
        return ElsaJson.Node(new JsonObject
        {
            ["items"] = new JsonArray(items),
            ["totalCount"] = result.TotalCount + codeFirstMatches.Count,
            ["links"] = DefinitionJson.ListLinks(),
        });
    }

    private static async Task<IResult> GetByDefinitionIdAsync(string definitionId, string? versionOptions, WorkflowDefinitionService service, CodeFirstDefinitions codeFirst, StudioModels models, CancellationToken ct)
    {
        if (!TryParseVersionOptions(versionOptions, VersionOptions.Latest, out var options, out var error)) return error;
        return (await service.GetAsync(definitionId, options, ct) ?? codeFirst.Find(definitionId)) is { } definition
            ? ElsaJson.Node(models.ToModel(definition))
            : NotFound("definition", definitionId);
    }

    /// <summary><c>POST /workflow-definitions</c> <c>{"model":{…},"publish":bool?}</c>: create, save a draft or publish.</summary>
    private static async Task<IResult> SaveAsync(HttpRequest request, WorkflowDefinitionService service, StudioModels models, CancellationToken ct)
    {
        var body = await ReadJsonAsync(request, ct);
        if (body?["model"] is not JsonObject model) return BadRequest("The body must be {\"model\":{…},\"publish\":bool}.");
        WorkflowDefinition definition;
        try
        {
            definition = DefinitionJson.FromModel(model);
        }
        catch (JsonException e)
        {
            return BadRequest("Invalid workflow definition: " + e.Message);
        }
        var publish = body["publish"] is JsonValue p && p.TryGetValue<bool>(out var b) && b;
        var result = await service.SaveAsync(definition, publish, ct);
        var status = publish && result.ValidationErrors.Count > 0 ? StatusCodes.Status400BadRequest : StatusCodes.Status200OK;
        return SaveResponse(models, result.Definition, result.AlreadyPublished, result.ValidationErrors, status);
    }

    /// <summary>
    /// <c>POST /workflow-definitions/import</c>: a definition JSON (as exported, or any Elsa 3 definition file) is saved
    /// as a new draft of its definition id (or a new definition), and published when it says <c>isPublished:true</c>.
    /// </summary>
    private static async Task<IResult> ImportAsync(HttpRequest request, WorkflowDefinitionService service, StudioModels models, CancellationToken ct)
    {
        var body = await ReadJsonAsync(request, ct);
        var model = body?["model"] as JsonObject ?? body as JsonObject;
        if (model?["root"] is null) return BadRequest("The body must be a workflow definition (with a root activity).");
        WorkflowDefinition definition;
        try
        {
            definition = DefinitionJson.FromModel(model);
        }
        catch (JsonException e)
        {
            return BadRequest("Invalid workflow definition: " + e.Message);
        }
        var publish = definition.IsPublished;
        definition.Id = "";
        var result = await service.SaveAsync(definition, publish, ct);
        if (result.ValidationErrors.Count == 0 || !publish) return ElsaJson.Node(models.ToModel(result.Definition));
        // Refused: the saved draft plus why, in the shape of a save response, so the caller can show each problem.
        return SaveResponse(models, result.Definition, false, result.ValidationErrors, StatusCodes.Status400BadRequest);
    }

    private static IResult SaveResponse(StudioModels models, WorkflowDefinition definition, bool alreadyPublished, IReadOnlyList<string> errors, int status = StatusCodes.Status200OK) =>
        ElsaJson.Node(new JsonObject
        {
            ["workflowDefinition"] = models.ToModel(definition),
            ["alreadyPublished"] = alreadyPublished,
            ["consumingWorkflowCount"] = 0,
            ["validationErrors"] = new JsonArray(errors.Select(e => (JsonNode)new JsonObject { ["errorMessage"] = e }).ToArray()),
        }, status);

    internal static bool TryParseVersionOptions(string? text, VersionOptions fallback, out VersionOptions options, out IResult error)
    {
        error = Results.Empty;
        if (text is null)
        {
            options = fallback;
            return true;
        }
        try
        {
            options = VersionOptions.Parse(text);
            return true;
        }
        catch (FormatException e)
        {
            options = fallback;
            error = BadRequest(e.Message);
            return false;
        }
    }

    internal static async Task<JsonNode?> ReadJsonAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            return await JsonNode.ParseAsync(request.Body, cancellationToken: ct);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string FileNameFor(WorkflowDefinition definition)
    {
        var name = string.IsNullOrWhiteSpace(definition.Name) ? definition.DefinitionId : definition.Name;
        var safe = new string(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? char.ToLowerInvariant(c) : '-').ToArray()).Trim('-');
        return (safe.Length == 0 ? definition.DefinitionId : safe) + ".json";
    }

    internal static IResult NotFound(string what, string id) =>
        Results.Json(new { status = 404, title = $"Workflow {what} '{id}' not found." }, ElsaJson.Options, statusCode: StatusCodes.Status404NotFound);

    private static IResult ReadOnly(string definitionId) =>
        BadRequest($"Workflow '{definitionId}' is defined in code (read-only): change it in code.");

    internal static IResult BadRequest(string message) =>
        Results.Json(new { status = 400, title = message }, ElsaJson.Options, statusCode: StatusCodes.Status400BadRequest);
}
