package org.flexllm.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import org.flexllm.io.GgufValue;
import org.flexllm.io.Json;

/**
 * The GGUF tokenizer keys of a Hugging Face {@code tokenizer.json}: the file itself under
 * {@value GgufTokenizerJson#HF_JSON} (what this library loads, exactly), and llama.cpp's {@code tokenizer.ggml.*}
 * for other readers. A byte-fallback BPE becomes llama.cpp's {@code llama} model, with scores that order its
 * merges as the file does (a merged token scores minus the rank of its first merge), so that
 * {@link GgufTokenizerJson} derives the same merges back; any other BPE becomes {@code gpt2} with the merges
 * listed and {@code tokenizer.ggml.pre} naming the pre-tokenizer regex.
 */
public final class GgufTokenizerKeys {
    static final int NORMAL = 1;
    static final int BYTE = 6;

    private GgufTokenizerKeys() {}

    /**
     * The keys for the {@code tokenizer.json} of {@code folder}, with the BOS, EOS and chat template of its
     * {@code tokenizer_config.json}.
     *
     * @throws TokenizerFormatException when the files cannot be read or do not hold a BPE tokenizer
     */
    public static SequencedMap<String, GgufValue> of(Path folder) {
        Path tokenizerJson = folder.resolve("tokenizer.json");
        Tokenizer tokenizer = Tokenizer.load(folder);
        String text;
        JsonNode json;
        try {
            text = Files.readString(tokenizerJson);
            json = Json.parse(text);
        } catch (JsonProcessingException e) {
            throw new TokenizerFormatException(tokenizerJson + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new TokenizerFormatException("cannot read " + tokenizerJson + ": " + e, e);
        }
        JsonNode model = json.path("model");
        boolean sentencePiece = model.path("byte_fallback").asBoolean(false);
        List<String> tokens = tokens(json, tokenizer.vocabSize());
        List<String> merges = new ArrayList<>();
        model.path("merges").forEach(m -> merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText()
                : m.asText()));
        SequencedMap<String, GgufValue> keys = new LinkedHashMap<>();
        keys.put("tokenizer.ggml.model", GgufValue.string(sentencePiece ? "llama" : "gpt2"));
        keys.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        keys.put("tokenizer.ggml.token_type", GgufValue.int32s(types(json, tokens, sentencePiece)));
        if (sentencePiece) {
            keys.put("tokenizer.ggml.scores", GgufValue.float32s(scores(tokens, merges)));
            keys.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(json.path("normalizer").toString()
                    .contains("\"Prepend\"")));
        } else {
            keys.put("tokenizer.ggml.merges", GgufValue.strings(merges));
            keys.put("tokenizer.ggml.pre", GgufValue.string(pre(json.path("pre_tokenizer").toString())));
        }
        tokenizer.bosId().ifPresent(id -> keys.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(id)));
        tokenizer.eosId().ifPresent(id -> keys.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(id)));
        int[] empty = tokenizer.encode("", true);
        keys.put("tokenizer.ggml.add_bos_token", GgufValue.bool(empty.length > 0
                && tokenizer.bosId().isPresent() && empty[0] == tokenizer.bosId().getAsInt()));
        String unk = model.path("unk_token").asText("");
        tokenizer.id(unk).ifPresent(id -> keys.put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(id)));
        TokenizerConfig.read(folder).chatTemplate()
                .ifPresent(t -> keys.put("tokenizer.chat_template", GgufValue.string(t)));
        keys.put(GgufTokenizerJson.HF_JSON, GgufValue.string(text));
        return keys;
    }

    /** Every id's token; ids that none names (holes in a padded vocabulary) get llama.cpp's {@code [PADn]}. */
    private static List<String> tokens(JsonNode json, int size) {
        String[] tokens = new String[size];
        json.path("model").path("vocab").properties().forEach(e -> tokens[e.getValue().asInt()] = e.getKey());
        json.path("added_tokens").forEach(t -> tokens[t.path("id").asInt()] = t.path("content").asText());
        for (int id = 0; id < size; id++) {
            if (tokens[id] == null) {
                tokens[id] = "[PAD" + id + "]";
            }
        }
        return Arrays.asList(tokens);
    }

    private static int[] types(JsonNode json, List<String> tokens, boolean sentencePiece) {
        int[] types = new int[tokens.size()];
        for (int id = 0; id < types.length; id++) {
            boolean isByte = sentencePiece && tokens.get(id).matches("<0x[0-9A-F]{2}>");
            types[id] = isByte ? BYTE : NORMAL;
        }
        String unk = json.path("model").path("unk_token").asText("");
        json.path("added_tokens").forEach(t -> types[t.path("id").asInt()] =
                t.path("content").asText().equals(unk) ? GgufTokenizerJson.UNKNOWN
                        : t.path("special").asBoolean(false) ? GgufTokenizerJson.CONTROL : GgufTokenizerJson.USER_DEFINED);
        return types;
    }

    /** Minus the rank of each token's first merge; tokens no merge makes score below all of them. */
    private static float[] scores(List<String> tokens, List<String> merges) {
        Map<String, Integer> ids = new LinkedHashMap<>();
        for (int id = 0; id < tokens.size(); id++) {
            ids.putIfAbsent(tokens.get(id), id);
        }
        float[] scores = new float[tokens.size()];
        Arrays.fill(scores, Float.NaN);
        for (int rank = 0; rank < merges.size(); rank++) {
            Integer merged = ids.get(merges.get(rank).replace(" ", ""));
            if (merged != null && Float.isNaN(scores[merged])) {
                scores[merged] = -rank;
            }
        }
        for (int id = 0; id < scores.length; id++) {
            if (Float.isNaN(scores[id])) {
                scores[id] = -(merges.size() + id);
            }
        }
        return scores;
    }

    private static String pre(String preTokenizer) {
        if (preTokenizer.contains("\\\\p{N}{1,3}")) {
            return "llama-bpe";
        }
        return preTokenizer.contains("\\\\p{N}|") ? "qwen2" : "default";
    }
}
