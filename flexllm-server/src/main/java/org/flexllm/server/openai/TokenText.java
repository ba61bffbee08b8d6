package org.flexllm.server.openai;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.flexllm.tokenizer.Tokenizer;

/** The text of single tokens, as log-probabilities list them. */
record TokenText(Tokenizer tokenizer) {
    String of(int id) {
        return tokenizer.decode(new int[] {id}, false);
    }

    /** The token's UTF-8 bytes, as OpenAI's chat log-probabilities give them (a token may be part of a character). */
    List<Integer> bytes(int id) {
        List<Integer> out = new ArrayList<>();
        for (byte b : of(id).getBytes(StandardCharsets.UTF_8)) {
            out.add(b & 0xff);
        }
        return out;
    }
}
