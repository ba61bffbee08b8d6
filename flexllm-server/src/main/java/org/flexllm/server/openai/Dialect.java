package org.flexllm.server.openai;

import java.util.List;
import org.flexllm.api.GenerationResult;
import org.flexllm.sampling.SampledToken;

/** How one endpoint ({@code /v1/completions} or {@code /v1/chat/completions}) shapes its choices. */
abstract class Dialect {
    /** The text of tokens, for log-probabilities. */
    final TokenText tokens;
    /** Whether the request asked for log-probabilities. */
    final boolean logprobs;
    private final String idPrefix;
    private final String object;
    private final String chunkObject;

    Dialect(TokenText tokens, boolean logprobs, String idPrefix, String object, String chunkObject) {
        this.tokens = tokens;
        this.logprobs = logprobs;
        this.idPrefix = idPrefix;
        this.object = object;
        this.chunkObject = chunkObject;
    }

    /** The prefix of answer ids. */
    final String idPrefix() {
        return idPrefix;
    }

    /** The object of a whole answer. */
    final String object() {
        return object;
    }

    /** The object of a stream's chunks. */
    final String chunkObject() {
        return chunkObject;
    }

    /** A whole answer's choice. */
    abstract Object choice(int index, GenerationResult result);

    /** The chunk that opens choice {@code index} of a stream, or null when the dialect sends none. */
    abstract Object opening(int index);

    /** A chunk's choice carrying new text and, when asked for, its tokens' log-probabilities. */
    abstract Object delta(int index, String text, List<SampledToken> sampled);

    /** The chunk's choice that ends choice {@code index}, with its finish reason. */
    abstract Object finish(int index, GenerationResult result);
}
