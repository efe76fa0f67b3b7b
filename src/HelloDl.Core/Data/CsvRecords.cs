using System.Text;

namespace HelloDl.Data;

/// <summary>One CSV record: the line it starts on and its fields, or null fields when a quote is left open.</summary>
public sealed record CsvRecord(int Line, List<string>? Fields, string Text);

/// <summary>
/// Records of a CSV file as RFC 4180 has them: fields separated by commas, quoted where they hold
/// commas or quotes ("a, b", "say ""x"""), and, where allowed, line breaks inside quotes (a
/// document's text).
/// </summary>
public static class CsvRecords
{
    /// <param name="lineBreaksInQuotes">A quoted field goes on over line breaks; otherwise a quote open at a line's end spoils only that line.</param>
    public static IEnumerable<CsvRecord> Read(TextReader reader, bool lineBreaksInQuotes)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var text = new StringBuilder();
        bool quoted = false;
        int line = 0, start = 1;
        string? current;
        while ((current = reader.ReadLine()) is not null)
        {
            line++;
            if (!quoted) start = line;
            else field.Append('\n');
            text.Append(quoted ? "\n" : "").Append(current);
            for (int i = 0; i < current.Length; i++)
            {
                char c = current[i];
                if (quoted)
                {
                    if (c != '"') field.Append(c);
                    else if (i + 1 < current.Length && current[i + 1] == '"') { field.Append('"'); i++; }
                    else quoted = false;
                }
                else if (c == '"') quoted = true;
                else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
                else field.Append(c);
            }
            if (quoted && lineBreaksInQuotes) continue;
            fields.Add(field.ToString());
            yield return new CsvRecord(start, quoted ? null : fields, text.ToString());
            (fields, quoted) = ([], false);
            field.Clear();
            text.Clear();
        }
        if (quoted) yield return new CsvRecord(start, null, text.ToString());
    }
}
