using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// The values of a read's statement: named parameters of a command (PostgreSQL), or, with no command, the values of a
/// statement kept prepared on SQLite (<c>$p0</c>, <c>$p1</c>, … in the order bound).
/// </summary>
internal sealed class ReadParameters(DbContext db, DbCommand? command)
{
    private int next;

    /// <summary>The values bound so far, in placeholder order (SQLite).</summary>
    public List<object?> Values { get; } = [];

    /// <summary>A value typed as <paramref name="property"/>'s column; its placeholder, to go in the SQL.</summary>
    public string Value(StoreMap map, string property, object? value)
    {
        if (command is null)
        {
            Values.Add(map.ProviderValue(property, value));
            return SqlitePreparedCommand.Placeholder(Values.Count - 1);
        }
        var name = "@r" + (next++).ToString(System.Globalization.CultureInfo.InvariantCulture);
        command.Parameters.Add(map.Parameter(command, property, name, value));
        return name;
    }

    /// <summary><c>IN</c> <paramref name="values"/> as one parameter (see <see cref="StoreMap.InList"/>).</summary>
    public string InList<T>(IReadOnlyCollection<T> values)
    {
        if (command is not null) return StoreMap.InList(db, command, "@r" + (next++).ToString(System.Globalization.CultureInfo.InvariantCulture), values);
        Values.Add(StoreMap.JsonList(values));
        return StoreMap.SqliteInList(SqlitePreparedCommand.Placeholder(Values.Count - 1));
    }
}
