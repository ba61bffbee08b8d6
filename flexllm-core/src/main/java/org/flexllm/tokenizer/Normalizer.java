package org.flexllm.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Rewrites a piece of input text before it is split into words ({@code tokenizer.json} "normalizer"). */
interface Normalizer {
    /** Leaves the text as it is. */
    Normalizer NONE = new Sequence(List.of());

    String normalize(String text);

    /** Reads one {@code normalizer} object. */
    static Normalizer read(JsonField json) {
        return switch (json.type()) {
            case "Sequence" -> new Sequence(json.get("normalizers").elements().stream().map(Normalizer::read).toList());
            case "Prepend" -> new Prepend(json.text("prepend"));
            case "Replace" -> new Replace(json.pattern("pattern"), json.text("content"));
            case "NFC" -> new UnicodeForm(java.text.Normalizer.Form.NFC);
            case "NFD" -> new UnicodeForm(java.text.Normalizer.Form.NFD);
            case "NFKC" -> new UnicodeForm(java.text.Normalizer.Form.NFKC);
            case "NFKD" -> new UnicodeForm(java.text.Normalizer.Form.NFKD);
            default -> throw json.unsupported("a normalizer");
        };
    }

    /** Applies each normalizer in turn. */
    record Sequence(List<Normalizer> normalizers) implements Normalizer {
        @Override
        public String normalize(String text) {
            for (Normalizer normalizer : normalizers) {
                text = normalizer.normalize(text);
            }
            return text;
        }
    }

    /** Puts {@code prefix} in front of every non-empty piece (SentencePiece's leading "▁"). */
    record Prepend(String prefix) implements Normalizer {
        @Override
        public String normalize(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    /** Replaces every match of {@code pattern} with {@code content}. */
    record Replace(Pattern pattern, String content) implements Normalizer {
        @Override
        public String normalize(String text) {
            return pattern.matcher(text).replaceAll(Matcher.quoteReplacement(content));
        }
    }

    /** One of the Unicode normalization forms. */
    record UnicodeForm(java.text.Normalizer.Form form) implements Normalizer {
        @Override
        public String normalize(String text) {
            return java.text.Normalizer.normalize(text, form);
        }
    }
}
