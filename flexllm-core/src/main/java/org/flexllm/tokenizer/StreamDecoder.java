package org.flexllm.tokenizer;

import java.util.Arrays;

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
    /** The window's ids, {@code windowSize} of them: unboxed, since it changes with every generated token. */
    private int[] window = new int[16];
    private int windowSize;
    /** The decoding of the first {@code releasedCount} ids of the window, all of it already returned. */
    private String released = "";
    private int releasedCount;

    StreamDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Takes the next id and returns the text it completes, often empty. */
    public String next(int id) {
        if (released.isEmpty() && windowSize > 0) {
            // Nothing visible was released yet (only special tokens, or a stripped leading space):
            // let the ids so far be context, unless they end inside a character.
            String context = decodeWindow();
            if (!context.endsWith(INCOMPLETE)) {
                released = context;
                releasedCount = windowSize;
            }
        }
        if (windowSize == window.length) {
            window = Arrays.copyOf(window, 2 * windowSize);
        }
        window[windowSize++] = id;
        String text = decodeWindow();
        if (text.length() <= released.length() || text.endsWith(INCOMPLETE)) {
            return "";
        }
        String fresh = unreleased(text);
        dropReleased();
        released = decodeWindow();
        releasedCount = windowSize;
        return fresh;
    }

    /**
     * Returns whatever is held back (bytes of an unfinished character come out as U+FFFD) and resets
     * the decoder for a new sequence.
     */
    public String flush() {
        String rest = unreleased(decodeWindow());
        windowSize = 0;
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

    /** Drops the first {@code releasedCount} ids of the window. */
    private void dropReleased() {
        System.arraycopy(window, releasedCount, window, 0, windowSize - releasedCount);
        windowSize -= releasedCount;
    }

    private String decodeWindow() {
        return tokenizer.decode(window, windowSize, skipSpecialTokens);
    }
}
