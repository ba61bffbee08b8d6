package org.flexllm.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The added tokens of a tokenizer, and the first encoding step: cutting them out of the input and
 * normalizing the text between them. Tokens with {@code normalized: false} are found in the raw input,
 * the others in the normalized text, as in the Rust library.
 */
final class AddedVocabulary {
    private static final Pattern WHITE_SPACE = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WORD_CHARACTER = Pattern.compile("\\w", Pattern.UNICODE_CHARACTER_CLASS);

    /**
     * A stretch of input: either an added token ({@code tokenId >= 0}) or normalized text for the
     * pre-tokenizer and model.
     *
     * @param atStart whether the stretch begins the input
     */
    record Segment(String text, int tokenId, boolean atStart) {
        boolean isToken() {
            return tokenId >= 0;
        }
    }

    /**
     * The added tokens' ids, ascending, and the tokens in the same order: {@link #byId} runs for every id decoded,
     * a generated token's too, so it searches these rather than box the id for a map.
     */
    private final int[] ids;
    private final AddedToken[] tokensById;
    private final Map<String, AddedToken> byContent = new HashMap<>();
    private final Normalizer normalizer;
    private final AddedTokenMatcher rawMatcher;
    private final AddedTokenMatcher normalizedMatcher;

    AddedVocabulary(List<AddedToken> tokens, Normalizer normalizer) {
        this.normalizer = normalizer;
        Map<String, AddedToken> raw = new HashMap<>();
        Map<String, AddedToken> normalized = new HashMap<>();
        Map<Integer, AddedToken> byId = new TreeMap<>();
        for (AddedToken token : tokens) {
            byId.put(token.id(), token);
            byContent.put(token.content(), token);
            if (token.normalized()) {
                normalized.put(normalizer.normalize(token.content()), token);
            } else {
                raw.put(token.content(), token);
            }
        }
        this.ids = byId.keySet().stream().mapToInt(Integer::intValue).toArray();
        this.tokensById = byId.values().toArray(AddedToken[]::new);
        this.rawMatcher = new AddedTokenMatcher(raw);
        this.normalizedMatcher = new AddedTokenMatcher(normalized);
    }

    /** The added token with this id, or null. */
    AddedToken byId(int id) {
        int at = Arrays.binarySearch(ids, id);
        return at >= 0 ? tokensById[at] : null;
    }

    /** The added token spelled {@code content}, or null. */
    AddedToken byContent(String content) {
        return byContent.get(content);
    }

    /** One past the highest added id (0 when there are none). */
    int size() {
        return ids.length == 0 ? 0 : ids[ids.length - 1] + 1;
    }

    /** The input as added tokens and normalized text between them; no text segment is empty. */
    List<Segment> split(String input) {
        List<Segment> segments = new ArrayList<>();
        for (Segment raw : segments(input, true, rawMatcher)) {
            if (raw.isToken()) {
                segments.add(raw);
            } else {
                segments.addAll(segments(normalizer.normalize(raw.text()), raw.atStart(), normalizedMatcher));
            }
        }
        return segments;
    }

    private List<Segment> segments(String text, boolean atStart, AddedTokenMatcher matcher) {
        List<Segment> segments = new ArrayList<>();
        int done = 0;
        for (AddedTokenMatcher.Match match : matcher.matches(text)) {
            AddedToken token = match.token();
            int start = match.start();
            int end = match.end();
            if (token.singleWord() && !standsAlone(text, start, end)) {
                continue;
            }
            if (token.lstrip()) {
                // Whitespace an earlier token already swallowed stays with it.
                start = Math.max(whiteSpaceBefore(text, start), done);
            }
            if (token.rstrip()) {
                end = whiteSpaceAfter(text, end);
            }
            addText(segments, text, done, start, atStart);
            segments.add(new Segment(token.content(), token.id(), atStart && start == 0));
            done = end;
        }
        addText(segments, text, done, text.length(), atStart);
        return segments;
    }

    private static void addText(List<Segment> segments, String text, int start, int end, boolean atStart) {
        if (start < end) {
            segments.add(new Segment(text.substring(start, end), -1, atStart && start == 0));
        }
    }

    /** No word character right before {@code start} nor right after {@code end}. */
    private static boolean standsAlone(String text, int start, int end) {
        return (start == 0 || !matches(WORD_CHARACTER, text.codePointBefore(start)))
                && (end == text.length() || !matches(WORD_CHARACTER, text.codePointAt(end)));
    }

    /** Where the run of whitespace that ends at {@code end} begins. */
    private static int whiteSpaceBefore(String text, int end) {
        int start = end;
        while (start > 0 && matches(WHITE_SPACE, text.codePointBefore(start))) {
            start -= Character.charCount(text.codePointBefore(start));
        }
        return start;
    }

    /** Where the run of whitespace that starts at {@code start} ends. */
    private static int whiteSpaceAfter(String text, int start) {
        int end = start;
        while (end < text.length() && matches(WHITE_SPACE, text.codePointAt(end))) {
            end += Character.charCount(text.codePointAt(end));
        }
        return end;
    }

    private static boolean matches(Pattern characterClass, int codePoint) {
        return characterClass.matcher(Character.toString(codePoint)).matches();
    }
}
