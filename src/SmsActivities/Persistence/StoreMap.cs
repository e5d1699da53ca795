using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace SmsActivities.Persistence;

/// <summary>
/// Table, columns and parameter types of one entity in the context's provider, built once per model and entity, for
/// the hot statements written without EF's query pipeline: the same SQL then serves SQLite and PostgreSQL.
/// </summary>
internal sealed class StoreMap
{
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IEntityType, StoreMap> Cache = new();
    private readonly Dictionary<string, (string Column, RelationalTypeMapping Mapping)> columns = new(StringComparer.Ordinal);

    /// <summary>The table's name delimited for SQL (with its schema, if any).</summary>
    public string Table { get; }

    private StoreMap(DbContext db, IEntityType entity)
    {
        var sql = db.GetService<ISqlGenerationHelper>();
        var store = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        Table = sql.DelimitIdentifier(store.Name, store.Schema);
        foreach (var property in entity.GetProperties())
            columns[property.Name] = (sql.DelimitIdentifier(property.GetColumnName(store)!), (RelationalTypeMapping)property.GetTypeMapping());
    }

    public static StoreMap For<TEntity>(DbContext db) => Cache.GetValue(db.Model.FindEntityType(typeof(TEntity))!, entity => new StoreMap(db, entity));

    public string Column(string property) => columns[property].Column;

    public DbParameter Parameter(DbCommand command, string property, string name, object? value) =>
        columns[property].Mapping.CreateParameter(command, name, value);

    /// <summary><paramref name="value"/> as the column of <paramref name="property"/> stores it (through the model's value converter, if any).</summary>
    public object? ProviderValue(string property, object? value) =>
        value is not null && columns[property].Mapping.Converter is { } converter ? converter.ConvertToProvider(value) : value;

    /// <summary><paramref name="value"/> written into SQL as a literal of the column of <paramref name="property"/>: for the code's own constants only.</summary>
    public string Literal(string property, object? value) => columns[property].Mapping.GenerateSqlLiteral(value);

    /// <summary>
    /// <c>IN</c> <paramref name="values"/> as one parameter named <paramref name="name"/>, whatever their number: an array on
    /// PostgreSQL, a JSON array on SQLite.
    /// </summary>
    public static string InList<T>(DbContext db, DbCommand command, string name, IReadOnlyCollection<T> values)
    {
        var postgres = Workflows.Persistence.DatabaseEngine.IsPostgres(db.Database);
        var list = command.CreateParameter();
        list.ParameterName = name;
        list.Value = postgres ? values.ToArray() : JsonList(values);
        command.Parameters.Add(list);
        return postgres ? $"= ANY({name})" : SqliteInList(name);
    }

    /// <summary>SQLite: <c>IN</c> the values of the JSON array bound as <paramref name="placeholder"/> (see <see cref="JsonList"/>).</summary>
    public static string SqliteInList(string placeholder) => $"IN (SELECT value FROM json_each({placeholder}))";

    /// <summary>Values as the JSON array <see cref="SqliteInList"/> reads.</summary>
    public static string JsonList<T>(IReadOnlyCollection<T> values) => System.Text.Json.JsonSerializer.Serialize(values);
}
