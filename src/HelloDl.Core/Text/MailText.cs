using System.Text;

namespace HelloDl.Text;

/// <summary>
/// The readable text of a raw e-mail message (RFC 822 headers, then a body, possibly MIME):
/// its subject, then every text part's body, decoded from base64 or quoted-printable. Other
/// headers are dropped: relays, dates and message ids say when and through which server a
/// message came, which a classifier learns as "spam" or "ham" of one period and then gets wrong
/// on the next. A document that does not start with header lines is returned as it is.
/// </summary>
public static class MailText
{
    /// <summary>Nested MIME parts deeper than this are not read (a forwarded forward of a forward).</summary>
    const int DeepestPart = 8;

    /// <summary>Whether <paramref name="document"/> starts like a mail message: an mbox 'From ' line or a header field, and a blank line later.</summary>
    public static bool LooksLikeMail(string document)
    {
        int end = HeaderEnd(document);
        if (end < 0) return false;
        int firstLineEnd = document.IndexOf('\n');
        var first = document.AsSpan(0, firstLineEnd < 0 ? document.Length : firstLineEnd);
        return first.StartsWith("From ", StringComparison.Ordinal) || IsHeaderLine(first);
    }

    /// <summary>The subject and the decoded text of the body's text parts; the document itself when it is not a mail message.</summary>
    public static string Extract(string document)
    {
        if (!LooksLikeMail(document)) return document;
        var text = new StringBuilder(document.Length);
        var (headers, body) = Split(document);
        if (Header(headers, "subject") is { } subject) text.Append(subject).Append('\n');
        AppendPart(headers, body, text, 0);
        return text.ToString();
    }

    static void AppendPart(string headers, string body, StringBuilder text, int depth)
    {
        string? declared = Header(headers, "content-type");
        string contentType = declared ?? "text/plain";
        string mediaType = contentType.Split(';', 2)[0].Trim().ToLowerInvariant();
        // Some senders write MIME parts without declaring them multipart.
        string? boundary = mediaType.StartsWith("multipart/", StringComparison.Ordinal) ? Parameter(contentType, "boundary")
            : declared is null ? UndeclaredBoundary(body) : null;
        if (boundary is { Length: > 0 } && depth < DeepestPart)
        {
            foreach (var part in Parts(body, boundary))
            {
                var (partHeaders, partBody) = Split(part);
                AppendPart(partHeaders, partBody, text, depth + 1);
            }
            return;
        }
        if (mediaType == "message/rfc822" && depth < DeepestPart)
        {
            var (innerHeaders, innerBody) = Split(body);
            if (Header(innerHeaders, "subject") is { } subject) text.Append(subject).Append('\n');
            AppendPart(innerHeaders, innerBody, text, depth + 1);
            return;
        }
        // Attachments (images, programs) are not text; their base64 would be noise.
        if (!mediaType.StartsWith("text/", StringComparison.Ordinal)) return;
        string encoding = (Header(headers, "content-transfer-encoding") ?? "").Trim().ToLowerInvariant();
        text.Append(encoding switch
        {
            "base64" => DecodeBase64(body),
            "quoted-printable" => DecodeQuotedPrintable(body),
            // Quoted-printable bodies whose header does not say so are common in spam.
            _ => LooksQuotedPrintable(body) ? DecodeQuotedPrintable(body) : body,
        }).Append('\n');
    }

    /// <summary>Headers (continuation lines unfolded) and body, split at the first blank line.</summary>
    static (string Headers, string Body) Split(string message)
    {
        int end = HeaderEnd(message);
        if (end < 0) return ("", message);
        string headers = message[..end].Replace("\r\n", "\n", StringComparison.Ordinal);
        int bodyStart = message.IndexOf('\n', end + 1) is int next and >= 0 ? next + 1 : message.Length;
        return (headers.Replace("\n ", " ", StringComparison.Ordinal).Replace("\n\t", " ", StringComparison.Ordinal), message[bodyStart..]);
    }

    /// <summary>Where the header block ends (the newline before the blank line), or -1.</summary>
    static int HeaderEnd(string message)
    {
        int lf = message.IndexOf("\n\n", StringComparison.Ordinal), crlf = message.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return lf < 0 ? crlf : crlf < 0 ? lf : Math.Min(lf, crlf + 1);
    }

    static bool IsHeaderLine(ReadOnlySpan<char> line)
    {
        int colon = line.IndexOf(':');
        if (colon < 1) return false;
        foreach (char c in line[..colon])
            if (c is <= ' ' or > '~') return false;
        return true;
    }

    /// <summary>The value of the first header field of that (lower-case) name, or null.</summary>
    static string? Header(string headers, string name)
    {
        foreach (var line in headers.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon == name.Length && line.AsSpan(0, colon).Equals(name, StringComparison.OrdinalIgnoreCase)) return line[(colon + 1)..].Trim();
        }
        return null;
    }

    /// <summary>A parameter of a header value, such as boundary="xyz" of a Content-Type.</summary>
    static string? Parameter(string value, string name)
    {
        foreach (var piece in value.Split(';').Skip(1))
        {
            int equals = piece.IndexOf('=');
            if (equals > 0 && piece.AsSpan(0, equals).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                return piece[(equals + 1)..].Trim().Trim('"');
        }
        return null;
    }

    /// <summary>The parts between the lines '--boundary', up to '--boundary--' or the end.</summary>
    static IEnumerable<string> Parts(string body, string boundary)
    {
        string delimiter = "--" + boundary;
        int position = body.IndexOf(delimiter, StringComparison.Ordinal);
        while (position >= 0)
        {
            int start = position + delimiter.Length;
            if (body.AsSpan(start).StartsWith("--")) yield break;
            start = body.IndexOf('\n', start) is int lineEnd and >= 0 ? lineEnd + 1 : body.Length;
            int next = body.IndexOf(delimiter, start, StringComparison.Ordinal);
            yield return body[start..(next < 0 ? body.Length : next)];
            position = next;
        }
    }

    /// <summary>The boundary of a body whose lines '--boundary' are followed by a part's Content-Type, or null.</summary>
    static string? UndeclaredBoundary(string body)
    {
        int position = 0;
        while (body.IndexOf("\n--", position, StringComparison.Ordinal) is int start and >= 0)
        {
            int lineEnd = body.IndexOf('\n', start + 3);
            if (lineEnd < 0) return null;
            if (body.AsSpan(lineEnd + 1).StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase)) return body[(start + 3)..lineEnd].TrimEnd('\r');
            position = lineEnd;
        }
        return null;
    }

    /// <summary>Whether a body is quoted-printable though undeclared: several '=3D', '=20' or soft line breaks.</summary>
    static bool LooksQuotedPrintable(string body)
    {
        int marks = 0;
        for (int i = body.IndexOf('='); i >= 0 && i + 2 < body.Length && marks < 3; i = body.IndexOf('=', i + 1))
            if (body[i + 1] == '\n' || (body[i + 1] is '3' or '2' && body[i + 2] is 'D' or '0')) marks++;
        return marks >= 3;
    }

    /// <summary>Base64 text as Latin-1 characters (any byte maps to one), skipping what is not base64.</summary>
    static string DecodeBase64(string body)
    {
        var clean = new StringBuilder(body.Length);
        foreach (char c in body)
            if (char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=') clean.Append(c);
        while (clean.Length % 4 != 0) clean.Length--;
        try { return Encoding.Latin1.GetString(Convert.FromBase64String(clean.ToString())); }
        catch (FormatException) { return body; }
    }

    /// <summary>'=XX' as the byte XX and soft line breaks ('=' at a line's end) removed; anything else kept as written.</summary>
    static string DecodeQuotedPrintable(string body)
    {
        var text = new StringBuilder(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c != '=') { text.Append(c); continue; }
            if (i + 1 < body.Length && body[i + 1] == '\n') { i++; continue; }
            if (i + 2 < body.Length && body[i + 1] == '\r' && body[i + 2] == '\n') { i += 2; continue; }
            if (i + 2 < body.Length && Uri.IsHexDigit(body[i + 1]) && Uri.IsHexDigit(body[i + 2]))
            {
                text.Append((char)Convert.ToByte(body.Substring(i + 1, 2), 16));
                i += 2;
                continue;
            }
            text.Append(c);
        }
        return text.ToString();
    }
}
