package org.flexllm.peft.data;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.flexllm.FuzzInputs;
import org.flexllm.FuzzTarget;
import org.flexllm.tokenizer.Tokenizer;

/**
 * Any bytes as a finetuning dataset (JSON lines of text, prompt/completion, chat messages or token ids, the format
 * detected from the first line): {@link DatasetReader#read} gives a dataset, or a {@link DatasetFormatException} /
 * {@link EmptyDatasetException}. Seeds: {@code DatasetFuzzTestInputs}; {@code scripts/fuzz.sh} adds JSON-lines
 * files of {@code ../shared}.
 */
class DatasetFuzzTest {
    private static final int VOCAB = 259;
    private static final int MAX_LENGTH = 64;
    /** Bytes as tokens (ids 3..258) after {@code <unk>}, {@code <s>}, {@code </s>}, with a chat template. */
    private static final Tokenizer TOKENIZER = Tokenizer.load(FuzzInputs.folder("tokenizer", Map.of(
            "tokenizer.json", byteTokenizer().getBytes(StandardCharsets.UTF_8),
            "tokenizer_config.json", """
                    {"bos_token": "<s>", "eos_token": "</s>", "chat_template": "{% for m in messages %}<s>{{ m['role'] }}\\n\
                    {{ m['content'] }}</s>{% endfor %}{% if add_generation_prompt %}<s>assistant\\n{% endif %}"}"""
                    .getBytes(StandardCharsets.UTF_8))));

    @DictionaryEntries({"{\"text\": ", "{\"prompt\": ", "\"completion\": ", "{\"messages\": [", "{\"role\": ",
            "\"content\": ", "\"assistant\"", "\"user\"", "\"system\"", "{\"input_ids\": [", "\"labels\": [", "-100",
            "\\n", "\\u0000", "null"})
    @FuzzTarget
    void read(byte[] bytes) {
        FuzzInputs.resultOr(org.flexllm.FlexLlmException.class, () -> DatasetReader.of(TOKENIZER, VOCAB, MAX_LENGTH)
                .read(FuzzInputs.file("train.jsonl", bytes)));
    }

    private static String byteTokenizer() {
        StringBuilder vocab = new StringBuilder("\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2");
        for (int b = 0; b < 256; b++) {
            vocab.append(", \"<0x%02X>\": %d".formatted(b, b + 3));
        }
        return """
                {"added_tokens": [{"id": 0, "content": "<unk>", "special": true}, {"id": 1, "content": "<s>", "special": true},
                  {"id": 2, "content": "</s>", "special": true}],
                 "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
                 "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "vocab": {%s}, "merges": []}}"""
                .formatted(vocab);
    }
}
