package org.flexllm.tokenizer;

import com.google.common.collect.Lists;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What a splitting pre-tokenizer does with the delimiters its pattern matches. */
enum SplitBehavior {
    /** Drops them. */
    REMOVED,
    /** Makes each one a piece of its own. */
    ISOLATED,
    /** Appends each to the piece before it. */
    MERGED_WITH_PREVIOUS,
    /** Prepends each to the piece after it. */
    MERGED_WITH_NEXT,
    /** Makes each run of adjacent delimiters one piece. */
    CONTIGUOUS;

    /** Reads the {@code behavior} field ({@code "Isolated"}, {@code "MergedWithNext"}...). */
    static SplitBehavior read(JsonField json) {
        return switch (json.text()) {
            case "Removed" -> REMOVED;
            case "Isolated" -> ISOLATED;
            case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> MERGED_WITH_NEXT;
            case "Contiguous" -> CONTIGUOUS;
            default -> throw json.error("names an unknown split behavior '" + json.text() + "'");
        };
    }

    /**
     * Splits {@code text} where {@code pattern} matches; with {@code invert} the matches are the pieces
     * and the text between them the delimiters.
     */
    List<String> split(String text, Pattern pattern, boolean invert) {
        List<Span> spans = spans(text, pattern, invert);
        List<Span> pieces = switch (this) {
            case REMOVED -> spans.stream().filter(span -> !span.delimiter()).toList();
            case ISOLATED -> spans;
            case MERGED_WITH_PREVIOUS -> join(spans, SplitBehavior::delimiterAfterPiece);
            case MERGED_WITH_NEXT -> Lists.reverse(join(Lists.reverse(spans), SplitBehavior::delimiterAfterPiece));
            case CONTIGUOUS -> join(spans, (previousDelimiter, delimiter) -> previousDelimiter == delimiter);
        };
        return pieces.stream().map(span -> text.substring(span.start(), span.end())).toList();
    }

    private static boolean delimiterAfterPiece(boolean previousDelimiter, boolean delimiter) {
        return delimiter && !previousDelimiter;
    }

    private record Span(int start, int end, boolean delimiter) {
        Span union(Span other) {
            return new Span(Math.min(start, other.start), Math.max(end, other.end), false);
        }
    }

    /** Consecutive spans covering the whole text, each flagged as delimiter or not. */
    private static List<Span> spans(String text, Pattern pattern, boolean invert) {
        List<Span> spans = new ArrayList<>();
        Matcher matcher = pattern.matcher(text);
        int previous = 0;
        while (matcher.find()) {
            if (matcher.start() > previous) {
                spans.add(new Span(previous, matcher.start(), invert));
            }
            spans.add(new Span(matcher.start(), matcher.end(), !invert));
            previous = matcher.end();
        }
        if (previous < text.length()) {
            spans.add(new Span(previous, text.length(), invert));
        }
        return spans;
    }

    /** Which spans join the one before them, from whether that one and this one are delimiters. */
    private interface JoinRule {
        boolean joins(boolean previousDelimiter, boolean delimiter);
    }

    private static List<Span> join(List<Span> spans, JoinRule rule) {
        List<Span> merged = new ArrayList<>(spans.size());
        boolean previousDelimiter = false;
        for (Span span : spans) {
            if (!merged.isEmpty() && rule.joins(previousDelimiter, span.delimiter())) {
                merged.set(merged.size() - 1, merged.getLast().union(span));
            } else {
                merged.add(span);
            }
            previousDelimiter = span.delimiter();
        }
        return merged;
    }
}
