package org.flexllm.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SequencedMap;
import org.flexllm.io.GgufMetadata;
import org.flexllm.io.GgufValue;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A Hugging Face tokenizer written as llama.cpp's {@code tokenizer.ggml.*} keys alone (no embedded
 * tokenizer.json) and read back encodes every golden string as the Hugging Face library does; for SentencePiece
 * models the merges derived from the written scores are the file's own.
 */
class GgufTokenizerTest {
    /** One of each kind: SentencePiece BPE (stories, Llama 2) and byte-level (Llama 3, Qwen). */
    static List<String> names() {
        return List.of("stories260K", "llama2", "llama3", "qwen3");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("names")
    void ggmlKeysEncodeAsTheHuggingFaceTokenizer(String name) {
        Path folder = Golden.folder(name);
        SequencedMap<String, GgufValue> keys = GgufTokenizerKeys.of(folder);
        GgufValue hfJson = keys.remove(GgufTokenizerJson.HF_JSON);
        Tokenizer gguf = Tokenizer.fromGguf(new GgufMetadata(folder.resolve("model.gguf"), keys));
        Tokenizer hf = Golden.tokenizer(name);
        assertEquals(hf.bosId(), gguf.bosId(), "BOS");
        assertEquals(hf.eosId(), gguf.eosId(), "EOS");
        List<String> failures = new ArrayList<>();
        Golden.lines(name).forEach(line -> {
            int[] withSpecial = gguf.encode(line.text(), true);
            int[] plain = gguf.encode(line.text(), false);
            if (!Arrays.equals(line.ids("ids"), withSpecial)
                    || !Arrays.equals(line.ids("ids_no_special"), plain)) {
                failures.add(line.id());
            }
        });
        assertEquals(List.of(), failures, name + ": strings encoded differently");
        int[] ids = hf.encode("Hello world, ok?", false);
        assertEquals(hf.decode(ids, false), gguf.decode(ids, false));
        GgufMetadata m = new GgufMetadata(folder.resolve("model.gguf"), keys);
        if (m.string("tokenizer.ggml.model").equals("llama")) {
            keys.put(GgufTokenizerJson.HF_JSON, hfJson);
            assertMergesFromScores(new GgufMetadata(folder.resolve("model.gguf"), keys));
        }
    }

    /** The SentencePiece merges derived from the scores are the file's, in its order. */
    private static void assertMergesFromScores(GgufMetadata m) {
        var derived = GgufTokenizerJson.spmMerges(m.strings("tokenizer.ggml.tokens"),
                m.floats("tokenizer.ggml.scores"));
        var file = GgufTokenizerJson.of(m).get("model").get("merges");
        assertEquals(file.size(), derived.size());
        for (int i = 0; i < derived.size(); i++) {
            var line = file.get(i);
            String expected = line.isArray() ? line.get(0).asText() + " " + line.get(1).asText() : line.asText();
            assertArrayEquals(expected.split(" ", 2), derived.get(i), "merge " + i);
        }
    }
}
