package org.flexllm.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns token strings back into text ({@code tokenizer.json} "decoder"). Decoders are chained: each
 * maps the list of strings the previous one produced, and the final list is concatenated.
 */
interface Decoder {
    /** Without a decoder the Rust library joins the tokens with spaces. */
    Decoder NONE = tokens -> List.of(String.join(" ", tokens));

    List<String> decodeChain(List<String> tokens);

    /** Reads one {@code decoder} object. */
    static Decoder read(JsonField json) {
        return switch (json.type()) {
            case "Sequence" -> new Sequence(json.get("decoders").elements().stream().map(Decoder::read).toList());
            case "ByteLevel" -> new ByteLevel();
            case "Replace" -> new Replace(json.pattern("pattern"), json.text("content"));
            case "ByteFallback" -> new ByteFallback();
            case "Fuse" -> new Fuse();
            case "Strip" -> new Strip(Strip.content(json), json.integer("start", 0), json.integer("stop", 0));
            case "Metaspace" -> new Metaspace(PreTokenizer.Metaspace.replacement(json),
                    PreTokenizer.PrependScheme.read(json) != PreTokenizer.PrependScheme.NEVER);
            default -> throw json.unsupported("a decoder");
        };
    }

    /** Applies each decoder in turn. */
    record Sequence(List<Decoder> decoders) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            for (Decoder decoder : decoders) {
                tokens = decoder.decodeChain(tokens);
            }
            return tokens;
        }
    }

    /**
     * Reads the tokens as {@link ByteLevelAlphabet} spellings of bytes and decodes all the bytes as UTF-8
     * at once, since one character's bytes may be spread over several tokens.
     */
    record ByteLevel() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String token : tokens) {
                ByteLevelAlphabet.appendBytes(token, bytes);
            }
            return List.of(bytes.toString(StandardCharsets.UTF_8));
        }
    }

    /** Replaces every match of {@code pattern} in each token with {@code content} ("▁" → " "). */
    record Replace(Pattern pattern, String content) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            String replacement = Matcher.quoteReplacement(content);
            return tokens.stream().map(token -> pattern.matcher(token).replaceAll(replacement)).toList();
        }
    }

    /**
     * Turns each run of {@code <0xNN>} tokens into the text their bytes encode; a run that is not valid
     * UTF-8 becomes one U+FFFD per byte, as in the Rust library.
     */
    record ByteFallback() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> decoded = new ArrayList<>(tokens.size());
            ByteArrayOutputStream run = new ByteArrayOutputStream();
            for (String token : tokens) {
                int b = byteValue(token);
                if (b >= 0) {
                    run.write(b);
                } else {
                    flush(run, decoded);
                    decoded.add(token);
                }
            }
            flush(run, decoded);
            return decoded;
        }

        /** The byte {@code <0xNN>} stands for, or -1 for any other token. */
        private static int byteValue(String token) {
            if (token.length() != 6 || !token.startsWith("<0x") || !token.endsWith(">")) {
                return -1;
            }
            boolean hex = HexFormat.isHexDigit(token.charAt(3)) && HexFormat.isHexDigit(token.charAt(4));
            return hex ? HexFormat.fromHexDigits(token, 3, 5) : -1;
        }

        private static void flush(ByteArrayOutputStream run, List<String> decoded) {
            if (run.size() == 0) {
                return;
            }
            try {
                decoded.add(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(run.toByteArray())).toString());
            } catch (CharacterCodingException e) {
                decoded.addAll(Collections.nCopies(run.size(), "\uFFFD"));
            }
            run.reset();
        }
    }

    /** Concatenates all tokens into one. */
    record Fuse() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing {@code content} characters of each token. */
    record Strip(int content, int start, int stop) implements Decoder {
        /** Reads the one-character {@code content} member. */
        static int content(JsonField json) {
            JsonField content = json.get("content");
            if (content.text().codePointCount(0, content.text().length()) != 1) {
                throw content.error("must be a single character");
            }
            return content.text().codePointAt(0);
        }

        @Override
        public List<String> decodeChain(List<String> tokens) {
            return tokens.stream().map(this::strip).toList();
        }

        private String strip(String token) {
            int[] chars = token.codePoints().toArray();
            int from = 0;
            while (from < Math.min(start, chars.length) && chars[from] == content) {
                from++;
            }
            int to = chars.length;
            while (chars.length - to < stop && to > from && chars[to - 1] == content) {
                to--;
            }
            return new String(chars, from, to - from);
        }
    }

    /**
     * Undoes the Metaspace pre-tokenizer: "▁" becomes a space, except in the first token when a "▁" was
     * prepended on encoding, where it is dropped.
     */
    record Metaspace(String replacement, boolean dropInFirst) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> decoded = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                decoded.add(tokens.get(i).replace(replacement, i == 0 && dropInFirst ? "" : " "));
            }
            return decoded;
        }
    }
}
