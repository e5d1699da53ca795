using System.Globalization;
using SQLitePCL;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// Values bound to and read from a native SQLite statement as Microsoft.Data.Sqlite binds and reads them for a parameter
/// of no declared type, so a row written by <see cref="SqlitePreparedCommand"/> is the row EF Core would have written:
/// integers, booleans and enums as INTEGER; decimals, dates, times and GUIDs as TEXT in the driver's formats (a test compares the two).
/// </summary>
internal static class SqliteValues
{
    public static void Bind(sqlite3_stmt stmt, int index, object? value)
    {
        var rc = value switch
        {
            null or DBNull => raw.sqlite3_bind_null(stmt, index),
            string text => raw.sqlite3_bind_text(stmt, index, text),
            long number => raw.sqlite3_bind_int64(stmt, index, number),
            int number => raw.sqlite3_bind_int64(stmt, index, number),
            bool flag => raw.sqlite3_bind_int64(stmt, index, flag ? 1 : 0),
            double real => raw.sqlite3_bind_double(stmt, index, real),
            float real => raw.sqlite3_bind_double(stmt, index, real),
            byte[] { Length: 0 } => raw.sqlite3_bind_zeroblob(stmt, index, 0),
            byte[] bytes => raw.sqlite3_bind_blob(stmt, index, bytes),
            decimal number => raw.sqlite3_bind_text(stmt, index, number.ToString("0.0###########################", CultureInfo.InvariantCulture)),
            DateTime time => raw.sqlite3_bind_text(stmt, index, time.ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFF", CultureInfo.InvariantCulture)),
            DateTimeOffset time => raw.sqlite3_bind_text(stmt, index, time.ToString(@"yyyy\-MM\-dd HH\:mm\:ss.FFFFFFFzzz", CultureInfo.InvariantCulture)),
            Guid id => raw.sqlite3_bind_text(stmt, index, id.ToString().ToUpperInvariant()),
            short or byte or sbyte or ushort or uint => raw.sqlite3_bind_int64(stmt, index, Convert.ToInt64(value, CultureInfo.InvariantCulture)),
            Enum choice => raw.sqlite3_bind_int64(stmt, index, Convert.ToInt64(choice, CultureInfo.InvariantCulture)),
            _ => throw new NotSupportedException($"A {value.GetType().Name} cannot be bound to a prepared SQLite statement here; convert it to a provider value first."),
        };
        if (rc != raw.SQLITE_OK) throw new InvalidOperationException($"SQLite refused parameter {index}: code {rc}.");
    }

    /// <summary>A column as Microsoft.Data.Sqlite's <c>GetValue</c> reads it: INTEGER as long, REAL as double, TEXT as string, BLOB as bytes, NULL as null.</summary>
    public static object? Column(sqlite3_stmt stmt, int index) => raw.sqlite3_column_type(stmt, index) switch
    {
        raw.SQLITE_INTEGER => raw.sqlite3_column_int64(stmt, index),
        raw.SQLITE_FLOAT => raw.sqlite3_column_double(stmt, index),
        raw.SQLITE_TEXT => raw.sqlite3_column_text(stmt, index).utf8_to_string(),
        raw.SQLITE_BLOB => raw.sqlite3_column_blob(stmt, index).ToArray(),
        _ => null,
    };
}
