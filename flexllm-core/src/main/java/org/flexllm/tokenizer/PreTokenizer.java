package org.flexllm.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Splits a normalized piece of text into the words the model tokenizes one by one
 * ({@code tokenizer.json} "pre_tokenizer").
 */
interface PreTokenizer {
    /** Keeps the piece whole. */
    PreTokenizer NONE = new Sequence(List.of());

    /**
     * The words of {@code text}, none empty.
     *
     * @param atStart whether {@code text} begins the input (Metaspace's {@code prepend_scheme: first})
     */
    List<String> split(String text, boolean atStart);

    /** Reads one {@code pre_tokenizer} object. */
    static PreTokenizer read(JsonField json) {
        return switch (json.type()) {
            case "Sequence" -> new Sequence(
                    json.get("pretokenizers").elements().stream().map(PreTokenizer::read).toList());
            case "Split" -> new Split(json.pattern("pattern"), SplitBehavior.read(json.get("behavior")),
                    json.bool("invert", false));
            case "ByteLevel" -> new ByteLevel(json.bool("add_prefix_space", true), json.bool("use_regex", true));
            case "Metaspace" -> new Metaspace(Metaspace.replacement(json), PrependScheme.read(json),
                    json.bool("split", true));
            default -> throw json.unsupported("a pre-tokenizer");
        };
    }

    /** Applies each pre-tokenizer to every word the previous ones produced. */
    record Sequence(List<PreTokenizer> preTokenizers) implements PreTokenizer {
        @Override
        public List<String> split(String text, boolean atStart) {
            List<String> words = text.isEmpty() ? List.of() : List.of(text);
            for (PreTokenizer preTokenizer : preTokenizers) {
                List<String> next = new ArrayList<>();
                for (int i = 0; i < words.size(); i++) {
                    next.addAll(preTokenizer.split(words.get(i), atStart && i == 0));
                }
                words = next;
            }
            return words;
        }
    }

    /** Splits on a pattern (the Llama 3 and Qwen word regex). */
    record Split(Pattern pattern, SplitBehavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public List<String> split(String text, boolean atStart) {
            return behavior.split(text, pattern, invert).stream().filter(word -> !word.isEmpty()).toList();
        }
    }

    /**
     * Spells each word's UTF-8 bytes in {@link ByteLevelAlphabet}, after optionally putting a space in
     * front and splitting with GPT-2's word regex.
     */
    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        private static final Pattern GPT2_WORDS = Pattern.compile(
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
                Pattern.UNICODE_CHARACTER_CLASS);

        @Override
        public List<String> split(String text, boolean atStart) {
            String prefixed = addPrefixSpace && !text.startsWith(" ") ? " " + text : text;
            List<String> words = useRegex ? SplitBehavior.ISOLATED.split(prefixed, GPT2_WORDS, false) : List.of(prefixed);
            return words.stream().filter(word -> !word.isEmpty()).map(ByteLevelAlphabet::encode).toList();
        }
    }

    /** When Metaspace puts its replacement character in front of a piece. */
    enum PrependScheme {
        ALWAYS, FIRST, NEVER;

        /** Reads {@code prepend_scheme}, or the older boolean {@code add_prefix_space}. */
        static PrependScheme read(JsonField json) {
            var scheme = json.find("prepend_scheme");
            if (scheme.isEmpty()) {
                return json.bool("add_prefix_space", true) ? ALWAYS : NEVER;
            }
            return switch (scheme.get().text()) {
                case "always" -> ALWAYS;
                case "first" -> FIRST;
                case "never" -> NEVER;
                default -> throw scheme.get().error("must be \"always\", \"first\" or \"never\"");
            };
        }
    }

    /**
     * SentencePiece's whitespace handling: spaces become {@code replacement} ("▁"), which is also put in
     * front of the piece, and optionally starts each word.
     */
    record Metaspace(String replacement, Pattern delimiter, PrependScheme scheme, boolean splitWords)
            implements PreTokenizer {
        Metaspace(String replacement, PrependScheme scheme, boolean splitWords) {
            this(replacement, Pattern.compile(Pattern.quote(replacement)), scheme, splitWords);
        }

        /** Reads the one-character {@code replacement} member. */
        static String replacement(JsonField json) {
            JsonField replacement = json.get("replacement");
            if (replacement.text().codePointCount(0, replacement.text().length()) != 1) {
                throw replacement.error("must be a single character");
            }
            return replacement.text();
        }

        @Override
        public List<String> split(String text, boolean atStart) {
            String replaced = text.replace(" ", replacement);
            boolean prepend = switch (scheme) {
                case ALWAYS -> true;
                case FIRST -> atStart;
                case NEVER -> false;
            };
            if (prepend && !replaced.startsWith(replacement)) {
                replaced = replacement + replaced;
            }
            if (!splitWords) {
                return replaced.isEmpty() ? List.of() : List.of(replaced);
            }
            return SplitBehavior.MERGED_WITH_NEXT.split(replaced, delimiter, false);
        }
    }
}
