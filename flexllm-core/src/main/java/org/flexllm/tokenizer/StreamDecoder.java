package org.flexllm.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Decodes ids that arrive one at a time into text that only ever grows by complete characters.
 * Concatenating what {@link #next} and {@link #flush} return gives exactly {@link Tokenizer#decode}
 * of all the ids.
 *
 * <p>It keeps a short window of recent ids and decodes it whole at each step: text is released only
 * when the window's decoding grows and does not end in U+FFFD (bytes of a character still missing).
 * The window starts with the ids already released, so decoders that depend on what precedes a token
 * (SentencePiece's leading-space strip, bytes split across tokens) see the same context as a full
 * decode. Not thread-safe; use one per sequence.
 */
public final class StreamDecoder {
    private static final String INCOMPLETE = "\uFFFD";

    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final List<Integer> window = new ArrayList<>();
    /** The decoding of the first {@code releasedCount} ids of the window, all of it already returned. */
    private String released = "";
    private int releasedCount;

    StreamDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Takes the next id and returns the text it completes, often empty. */
    public String next(int id) {
        if (released.isEmpty() && !window.isEmpty()) {
            // Nothing visible was released yet (only special tokens, or a stripped leading space):
            // let the ids so far be context, unless they end inside a character.
            String context = decodeWindow();
            if (!context.endsWith(INCOMPLETE)) {
                released = context;
                releasedCount = window.size();
            }
        }
        window.add(id);
        String text = decodeWindow();
        if (text.length() <= released.length() || text.endsWith(INCOMPLETE)) {
            return "";
        }
        String fresh = unreleased(text);
        window.subList(0, releasedCount).clear();
        released = decodeWindow();
        releasedCount = window.size();
        return fresh;
    }

    /**
     * Returns whatever is held back (bytes of an unfinished character come out as U+FFFD) and resets
     * the decoder for a new sequence.
     */
    public String flush() {
        String rest = unreleased(decodeWindow());
        window.clear();
        released = "";
        releasedCount = 0;
        return rest;
    }

    /**
     * The part of the window's text past what was released. Byte fallback decodes a run of byte tokens that
     * is not valid UTF-8 into one U+FFFD per byte, so a later invalid byte can rewrite bytes already
     * released as characters; released text cannot be taken back, so the stream then continues after
     * the released length (it differs from a full decode only for invalid UTF-8).
     */
    private String unreleased(String text) {
        return text.length() > released.length() ? text.substring(released.length()) : "";
    }

    private String decodeWindow() {
        return tokenizer.decode(window.stream().mapToInt(Integer::intValue).toArray(), skipSpecialTokens);
    }
}
