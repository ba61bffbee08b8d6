package org.flexllm.io;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import org.flexllm.FlexLlmException;
import org.flexllm.FuzzInputs;
import org.flexllm.FuzzTarget;
import org.flexllm.model.GgufCheckpoint;
import org.flexllm.tokenizer.Tokenizer;

/**
 * Any bytes as a GGUF file: loading it as a checkpoint (header, metadata, tensor infos, the model config and
 * the tensors bound to it) and reading its tokenizer give a result or a {@link FlexLlmException}. Seeds:
 * {@code GgufFuzzTestInputs}; {@code scripts/fuzz.sh} adds {@code ../shared/models/stories260K-gguf}.
 */
class GgufFuzzTest {
    @DictionaryEntries({"GGUF", "general.architecture", "general.alignment", "llama", "qwen2",
            "llama.block_count", "llama.embedding_length", "llama.attention.head_count",
            "llama.feed_forward_length", "tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.merges",
            "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.chat_template", "gpt2",
            "token_embd.weight", "output_norm.weight", "blk.0.attn_q.weight"})
    @FuzzTarget
    void load(byte[] bytes) {
        Path file = FuzzInputs.file("model.gguf", bytes);
        try (Arena arena = Arena.ofConfined()) {
            GgufFile gguf = FuzzInputs.resultOr(FlexLlmException.class, () -> GgufFile.open(file, arena));
            if (gguf == null) {
                return;
            }
            Tokenizer tokenizer = FuzzInputs.resultOr(FlexLlmException.class, () -> Tokenizer.fromGguf(gguf.metadata()));
            if (tokenizer != null) {
                tokenizer.decode(tokenizer.encode("ab c\né", true), false);
            }
        }
        FuzzInputs.resultOr(FlexLlmException.class, () -> {
            try (GgufCheckpoint checkpoint = GgufCheckpoint.load(file)) {
                return checkpoint.config();
            }
        });
    }
}
