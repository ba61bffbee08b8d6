package org.flexllm.engine;

import java.util.List;
import org.flexllm.tokenizer.StreamDecoder;

/**
 * A request's output text as it grows token by token: decoded without splitting characters, cut at the first
 * stop string, and released to the stream only once no stop string can still begin in it.
 */
final class OutputText {
    private final StreamDecoder decoder;
    private final List<String> stops;
    private final int holdBack;
    private final StringBuilder text = new StringBuilder();
    private int released;

    /**
     * @param decoder a fresh stream decoder
     * @param prompt  fed through the decoder first, so the output decodes as a continuation (a SentencePiece
     *                decoder strips the leading space only at the very start of a sequence)
     * @param stops   stop strings
     */
    OutputText(StreamDecoder decoder, int[] prompt, List<String> stops) {
        for (int id : prompt) {
            decoder.next(id);
        }
        this.decoder = decoder;
        this.stops = stops;
        this.holdBack = stops.stream().mapToInt(String::length).max().orElse(1) - 1;
    }

    /** Appends a token's text; true when that completed a stop string (the text then ends before it). */
    boolean add(int token) {
        int before = text.length();
        text.append(decoder.next(token));
        return cutAtStop(Math.max(0, before - holdBack));
    }

    /** Appends what the decoder still holds (an incomplete character at the end of the output). */
    boolean finish() {
        int before = text.length();
        text.append(decoder.flush());
        return cutAtStop(Math.max(0, before - holdBack));
    }

    private boolean cutAtStop(int from) {
        int cut = -1;
        for (String stop : stops) {
            int at = text.indexOf(stop, from);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            text.setLength(cut);
        }
        return cut >= 0;
    }

    /** Text not yet released that can no longer turn into a stop string; everything when {@code last}. */
    String release(boolean last) {
        int end = last ? text.length() : Math.max(released, text.length() - holdBack);
        if (end > released && end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
            end--;
        }
        String delta = text.substring(released, end);
        released = end;
        return delta;
    }

    String text() {
        return text.toString();
    }
}
