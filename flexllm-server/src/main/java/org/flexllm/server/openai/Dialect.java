package org.flexllm.server.openai;

import java.util.List;
import org.flexllm.api.GenerationResult;
import org.flexllm.sampling.SampledToken;

/** How one endpoint ({@code /v1/completions} or {@code /v1/chat/completions}) shapes its choices. */
interface Dialect {
    /** The prefix of answer ids. */
    String idPrefix();

    /** The object of a whole answer. */
    String object();

    /** The object of a stream's chunks. */
    String chunkObject();

    /** A whole answer's choice. */
    Object choice(int index, GenerationResult result);

    /** The chunk that opens choice {@code index} of a stream, or null when the dialect sends none. */
    Object opening(int index);

    /** A chunk's choice carrying new text (and its tokens' log-probabilities when asked for, else null). */
    Object delta(int index, String text, List<SampledToken> logprobs);

    /** The chunk's choice that ends choice {@code index}, with its finish reason. */
    Object finish(int index, GenerationResult result);
}
