package org.flexllm.server.finetune;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.flexllm.server.ApiError;

/**
 * A {@code multipart/form-data} body (RFC 7578) as OpenAI's clients send uploads: named parts, each with an
 * optional filename. The webserver's multipart module is not among the packages we may use, and an upload form is
 * small enough to parse here: the whole body is in memory anyway to be stored.
 *
 * @param parts the parts by name
 */
record Multipart(Map<String, Part> parts) {
    private static final Pattern BOUNDARY = Pattern.compile("boundary=(\"?)([^\";]+)\\1");
    private static final Pattern NAME = Pattern.compile("(?:^|;)\\s*name=\"([^\"]*)\"");
    private static final Pattern FILENAME = Pattern.compile(";\\s*filename=\"([^\"]*)\"");
    private static final byte[] HEADER_END = "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);

    /** One part: its content, and the filename it came with (null for a plain field). */
    record Part(String filename, byte[] content) {
        String text() {
            return new String(content, StandardCharsets.UTF_8);
        }
    }

    /** @throws ApiError 400 when the body is not multipart form data */
    static Multipart parse(String contentType, byte[] body) {
        Matcher m = contentType == null ? null : BOUNDARY.matcher(contentType);
        if (m == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data") || !m.find()) {
            throw ApiError.badRequest("an upload must be multipart/form-data with a boundary, was '" + contentType
                    + "'", null);
        }
        byte[] delimiter = ("--" + m.group(2)).getBytes(StandardCharsets.ISO_8859_1);
        Map<String, Part> parts = new HashMap<>();
        int at = indexOf(body, delimiter, 0);
        while (at >= 0) {
            int start = at + delimiter.length;
            if (start + 1 < body.length && body[start] == '-' && body[start + 1] == '-') {
                break;
            }
            int headersEnd = indexOf(body, HEADER_END, start);
            int next = indexOf(body, delimiter, start);
            if (headersEnd < 0 || next < 0 || headersEnd > next) {
                throw ApiError.badRequest("the multipart body is truncated or malformed", null);
            }
            String headers = new String(body, start, headersEnd - start, StandardCharsets.UTF_8);
            // The part's content ends with the CRLF that precedes the next delimiter.
            byte[] content = Arrays.copyOfRange(body, headersEnd + HEADER_END.length, Math.max(headersEnd
                    + HEADER_END.length, next - 2));
            disposition(headers).ifPresent(d -> parts.put(d[0], new Part(d[1], content)));
            at = next;
        }
        return new Multipart(parts);
    }

    /** The part's name and filename (null when none) from its Content-Disposition header. */
    private static java.util.Optional<String[]> disposition(String headers) {
        for (String line : headers.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-disposition:")) {
                Matcher name = NAME.matcher(line.substring(line.indexOf(':') + 1));
                Matcher file = FILENAME.matcher(line);
                if (name.find()) {
                    return java.util.Optional.of(new String[] {name.group(1), file.find() ? file.group(1) : null});
                }
            }
        }
        return java.util.Optional.empty();
    }

    private static int indexOf(byte[] haystack, byte[] needle, int from) {
        outer:
        for (int i = from; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
