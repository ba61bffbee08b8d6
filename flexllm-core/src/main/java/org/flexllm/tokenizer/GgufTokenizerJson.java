package org.flexllm.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.flexllm.io.GgufMetadata;
import org.flexllm.io.Json;

/**
 * The Hugging Face {@code tokenizer.json} equivalent to a GGUF file's tokenizer: the file's own copy when it has
 * one ({@code tokenizer.huggingface.json}), else one built from llama.cpp's {@code tokenizer.ggml.*} keys the way
 * transformers' converters build them:
 * <ul>
 *   <li>{@code llama} (SentencePiece BPE with byte fallback, Llama 2, Mistral): the merges are derived from the
 *       scores as transformers' SentencePiece extractor does (every split of a token into two tokens, ordered by
 *       the merged token's score, highest first, then by the halves' ids), with the "▁" normalizer and decoder;
 *   <li>{@code gpt2} (byte-level BPE, Llama 3, Qwen): the listed merges, with the pre-tokenizer regex that
 *       {@code tokenizer.ggml.pre} names.
 * </ul>
 * Control and unknown tokens become special added tokens, user-defined ones plain added tokens.
 */
public final class GgufTokenizerJson {
    /** The key under which a GGUF file may hold the whole {@code tokenizer.json}. */
    public static final String HF_JSON = "tokenizer.huggingface.json";
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final String SPACE = "▁";
    private static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
            + "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
            + "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private GgufTokenizerJson() {}

    /**
     * The tokenizer.json of {@code m}.
     *
     * @throws TokenizerFormatException when the metadata has no tokenizer or one of an unsupported model
     */
    public static ObjectNode of(GgufMetadata m) {
        Optional<String> embedded = m.optionalString(HF_JSON);
        if (embedded.isPresent()) {
            return parse(m, embedded.get());
        }
        String model = m.optionalString("tokenizer.ggml.model").orElseThrow(() -> new TokenizerFormatException(
                m.file() + ": no tokenizer (neither tokenizer.ggml.model nor " + HF_JSON + ")"));
        return switch (model) {
            case "llama" -> sentencePiece(m);
            case "gpt2" -> byteLevel(m);
            default -> throw new TokenizerFormatException(m.file() + ": tokenizer.ggml.model '" + model
                    + "' is not supported (supported: llama, gpt2)");
        };
    }

    private static ObjectNode parse(GgufMetadata m, String text) {
        try {
            JsonNode node = Json.parse(text);
            if (node instanceof ObjectNode object) {
                return object;
            }
        } catch (JsonProcessingException e) {
            throw new TokenizerFormatException(m.file() + ": " + HF_JSON + " is not valid JSON: "
                    + e.getOriginalMessage(), e);
        }
        throw new TokenizerFormatException(m.file() + ": " + HF_JSON + " is not a JSON object");
    }

    private static ObjectNode sentencePiece(GgufMetadata m) {
        List<String> tokens = m.strings("tokenizer.ggml.tokens");
        float[] scores = m.floats("tokenizer.ggml.scores");
        if (scores.length != tokens.size()) {
            throw new TokenizerFormatException(m.file() + ": tokenizer.ggml.scores has " + scores.length
                    + " entries for " + tokens.size() + " tokens");
        }
        boolean prefixSpace = m.optionalBool("tokenizer.ggml.add_space_prefix").orElse(true);
        ObjectNode json = skeleton(m, tokens, true);
        ObjectNode model = (ObjectNode) json.get("model");
        model.set("merges", merges(spmMerges(tokens, scores)));
        int unk = id(m, "tokenizer.ggml.unknown_token_id");
        model.put("unk_token", unk >= 0 && unk < tokens.size() ? tokens.get(unk) : null);
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        ArrayNode normalizers = NODES.arrayNode();
        if (prefixSpace) {
            normalizers.add(NODES.objectNode().put("type", "Prepend").put("prepend", SPACE));
        }
        normalizers.add(replace(" ", SPACE));
        json.set("normalizer", NODES.objectNode().put("type", "Sequence").set("normalizers", normalizers));
        ArrayNode decoders = NODES.arrayNode().add(replace(SPACE, " "))
                .add(type("ByteFallback")).add(type("Fuse"));
        if (prefixSpace) {
            decoders.add(NODES.objectNode().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0));
        }
        json.set("decoder", NODES.objectNode().put("type", "Sequence").set("decoders", decoders));
        json.set("post_processor", template(m, tokens, true));
        return json;
    }

    private static ObjectNode byteLevel(GgufMetadata m) {
        List<String> tokens = m.strings("tokenizer.ggml.tokens");
        ObjectNode json = skeleton(m, tokens, false);
        ObjectNode model = (ObjectNode) json.get("model");
        String pre = m.optionalString("tokenizer.ggml.pre").orElse("default");
        model.set("merges", NODES.arrayNode().addAll(m.strings("tokenizer.ggml.merges").stream()
                .map(NODES::textNode).toList()));
        model.put("byte_fallback", false);
        model.put("ignore_merges", pre.equals("llama-bpe") || pre.equals("llama3"));
        if (pre.equals("qwen2")) {
            // Qwen's tokenizer.json composes characters first (NFC); llama.cpp's qwen2 pre-tokenizer does too.
            json.set("normalizer", type("NFC"));
        }
        json.set("pre_tokenizer", preTokenizer(pre));
        json.set("decoder", type("ByteLevel"));
        json.set("post_processor", template(m, tokens, false));
        return json;
    }

    /** The vocabulary and the added tokens, shared by both models. */
    private static ObjectNode skeleton(GgufMetadata m, List<String> tokens, boolean sentencePiece) {
        int[] types = m.ints("tokenizer.ggml.token_type");
        ObjectNode vocab = NODES.objectNode();
        ArrayNode added = NODES.arrayNode();
        for (int id = 0; id < tokens.size(); id++) {
            vocab.put(tokens.get(id), id);
            int type = id < types.length ? types[id] : 1;
            if (type == CONTROL || type == UNKNOWN || type == USER_DEFINED) {
                added.add(NODES.objectNode().put("id", id).put("content", tokens.get(id)).put("single_word", false)
                        .put("lstrip", false).put("rstrip", false).put("normalized", type == USER_DEFINED
                                && !sentencePiece).put("special", type != USER_DEFINED));
            }
        }
        ObjectNode json = NODES.objectNode();
        json.set("added_tokens", added);
        json.set("model", NODES.objectNode().put("type", "BPE").set("vocab", vocab));
        return json;
    }

    /** BOS before the text when {@code tokenizer.ggml.add_bos_token} says so, EOS after likewise. */
    private static ObjectNode template(GgufMetadata m, List<String> tokens, boolean bosByDefault) {
        ArrayNode single = NODES.arrayNode();
        ObjectNode specials = NODES.objectNode();
        boolean bos = m.optionalBool("tokenizer.ggml.add_bos_token").orElse(bosByDefault);
        boolean eos = m.optionalBool("tokenizer.ggml.add_eos_token").orElse(false);
        addSpecial(m, tokens, "tokenizer.ggml.bos_token_id", bos, single, specials);
        single.add(NODES.objectNode().set("Sequence", NODES.objectNode().put("id", "A").put("type_id", 0)));
        addSpecial(m, tokens, "tokenizer.ggml.eos_token_id", eos, single, specials);
        ObjectNode template = NODES.objectNode().put("type", "TemplateProcessing");
        template.set("single", single);
        template.set("special_tokens", specials);
        return template;
    }

    private static void addSpecial(GgufMetadata m, List<String> tokens, String key, boolean wanted, ArrayNode single,
            ObjectNode specials) {
        int id = id(m, key);
        if (!wanted || id < 0 || id >= tokens.size()) {
            return;
        }
        String token = tokens.get(id);
        single.add(NODES.objectNode().set("SpecialToken", NODES.objectNode().put("id", token).put("type_id", 0)));
        specials.set(token, NODES.objectNode().put("id", token)
                .<ObjectNode>set("ids", NODES.arrayNode().add(id))
                .set("tokens", NODES.arrayNode().add(token)));
    }

    private static JsonNode preTokenizer(String pre) {
        String regex = switch (pre) {
            case "llama-bpe", "llama3" -> LLAMA3_REGEX;
            case "qwen2" -> QWEN2_REGEX;
            default -> null;
        };
        if (regex == null) {
            return NODES.objectNode().put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
        }
        ObjectNode split = NODES.objectNode().put("type", "Split").put("behavior", "Isolated").put("invert", false);
        split.set("pattern", NODES.objectNode().put("Regex", regex));
        ObjectNode bytes = NODES.objectNode().put("type", "ByteLevel").put("add_prefix_space", false)
                .put("use_regex", false);
        return NODES.objectNode().put("type", "Sequence").set("pretokenizers", NODES.arrayNode().add(split).add(bytes));
    }

    /** One candidate merge: the halves and the merged token's id. */
    private record Merge(int left, int right, int merged) {}

    /**
     * Every split of every token into two tokens, in transformers' order: by the merged token's score (highest
     * first; equal scores keep vocabulary order), then by the ids of the left and right halves.
     */
    static List<String[]> spmMerges(List<String> tokens, float[] scores) {
        Map<String, Integer> ids = HashMap.newHashMap(tokens.size());
        for (int id = 0; id < tokens.size(); id++) {
            ids.putIfAbsent(tokens.get(id), id);
        }
        List<Merge> merges = new ArrayList<>();
        for (int id = 0; id < tokens.size(); id++) {
            String token = tokens.get(id);
            for (int cut = 1; cut < token.length(); cut++) {
                if (Character.isLowSurrogate(token.charAt(cut))) {
                    continue;
                }
                Integer left = ids.get(token.substring(0, cut));
                Integer right = ids.get(token.substring(cut));
                if (left != null && right != null) {
                    merges.add(new Merge(left, right, id));
                }
            }
        }
        // 0 - score, not -score: -0.0 and 0.0 must tie, as they do in Python.
        merges.sort(Comparator.<Merge>comparingDouble(g -> 0.0 - scores[g.merged()])
                .thenComparingInt(Merge::merged).thenComparingInt(Merge::left).thenComparingInt(Merge::right));
        return merges.stream().map(g -> new String[] {tokens.get(g.left()), tokens.get(g.right())}).toList();
    }

    private static ArrayNode merges(List<String[]> pairs) {
        ArrayNode array = NODES.arrayNode(pairs.size());
        for (String[] pair : pairs) {
            array.add(NODES.arrayNode().add(pair[0]).add(pair[1]));
        }
        return array;
    }

    private static ObjectNode replace(String from, String to) {
        ObjectNode node = NODES.objectNode().put("type", "Replace").put("content", to);
        node.set("pattern", NODES.objectNode().put("String", from));
        return node;
    }

    private static ObjectNode type(String type) {
        return NODES.objectNode().put("type", type);
    }

    private static int id(GgufMetadata m, String key) {
        long id = m.optionalInteger(key).orElse(-1);
        return id < 0 || id > Integer.MAX_VALUE ? -1 : (int) id;
    }
}
