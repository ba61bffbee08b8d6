package org.flexllm.tokenizer;

import com.google.common.primitives.ImmutableIntArray;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A BPE model ({@code tokenizer.json} "model" of type BPE): turns one word into ids by starting from its
 * characters and applying the merges. Characters missing from the vocabulary become their UTF-8 bytes
 * ({@code <0xNN>} tokens) with byte fallback, else the unknown token.
 */
final class BpeModel {
    /** Words cached at most, like the Rust library; the cache stops growing once full. */
    private static final int CACHE_CAPACITY = 10_000;
    /** Longer words are rare and not worth keeping. */
    private static final int CACHED_WORD_LENGTH = 256;

    private final Map<String, Integer> vocab;
    private final String[] tokens;
    private final BpeMerges merges;
    private final int unkId;
    private final boolean fuseUnk;
    private final int[] byteIds;
    private final boolean ignoreMerges;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param unkId        the unknown token, or -1 when unknown characters are dropped
     * @param byteFallback whether unknown characters become {@code <0xNN>} tokens
     * @param ignoreMerges whether a word that is itself in the vocabulary is taken whole
     */
    private BpeModel(Map<String, Integer> vocab, BpeMerges merges, int unkId, boolean fuseUnk, boolean byteFallback,
            boolean ignoreMerges) {
        this.vocab = vocab;
        this.merges = merges;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        this.tokens = new String[vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1];
        vocab.forEach((token, id) -> tokens[id] = token);
        this.byteIds = byteFallback ? byteTokenIds(vocab) : null;
    }

    /** A model whose vocabulary is {@code tokens} (id = index) and that has no merges. */
    static BpeModel withoutMerges(List<String> tokens, boolean byteFallback) {
        Map<String, Integer> vocab = new HashMap<>();
        for (int id = 0; id < tokens.size(); id++) {
            vocab.put(tokens.get(id), id);
        }
        return new BpeModel(vocab, new BpeMerges(Map.of(), new int[0]), -1, false, byteFallback, false);
    }

    /** Reads the {@code model} object. */
    static BpeModel read(JsonField json) {
        Optional<JsonField> type = json.find("type");
        if (type.isPresent() && !type.get().text().equals("BPE")) {
            throw json.unsupported("a model");
        }
        rejectUnsupportedOptions(json);
        Map<String, Integer> vocab = readVocab(json.get("vocab"));
        BpeMerges merges = readMerges(json.get("merges"), vocab);
        int unkId = -1;
        Optional<JsonField> unk = json.find("unk_token");
        if (unk.isPresent()) {
            unkId = idOf(vocab, unk.get().text(), unk.get());
        }
        return new BpeModel(vocab, merges, unkId, json.bool("fuse_unk", false), json.bool("byte_fallback", false),
                json.bool("ignore_merges", false));
    }

    /** One past the highest id of the vocabulary. */
    int size() {
        return tokens.length;
    }

    /** The token string of {@code id}, or null when the vocabulary has none. */
    String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    /** The id of {@code token}, or null when it is not in the vocabulary. */
    Integer id(String token) {
        return vocab.get(token);
    }

    /** Appends the ids of one word. */
    void tokenize(String word, ImmutableIntArray.Builder out) {
        Integer whole = ignoreMerges ? vocab.get(word) : null;
        if (whole != null) {
            out.add(whole);
            return;
        }
        int[] ids = cache.get(word);
        if (ids == null) {
            ids = merges.apply(symbols(word));
            if (word.length() < CACHED_WORD_LENGTH && cache.size() < CACHE_CAPACITY) {
                cache.put(word, ids);
            }
        }
        out.addAll(ids);
    }

    /** The word's characters as ids, before any merge. */
    private int[] symbols(String word) {
        ImmutableIntArray.Builder symbols = ImmutableIntArray.builder(word.length());
        // An unknown character waits here so that fuse_unk can fold the next unknown one into it.
        boolean unknownPending = false;
        for (int i = 0; i < word.length(); ) {
            int end = i + Character.charCount(word.codePointAt(i));
            String character = word.substring(i, end);
            i = end;
            Integer id = vocab.get(character);
            if (id != null) {
                if (unknownPending) {
                    symbols.add(unkId);
                    unknownPending = false;
                }
                symbols.add(id);
            } else if (!addBytes(character, symbols) && unkId >= 0) {
                if (unknownPending && !fuseUnk) {
                    symbols.add(unkId);
                }
                unknownPending = true;
            }
        }
        if (unknownPending) {
            symbols.add(unkId);
        }
        return symbols.build().toArray();
    }

    /** Adds the {@code <0xNN>} tokens of {@code character}'s bytes, if byte fallback has them all. */
    private boolean addBytes(String character, ImmutableIntArray.Builder symbols) {
        if (byteIds == null) {
            return false;
        }
        byte[] bytes = character.getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            if (byteIds[b & 0xFF] < 0) {
                return false;
            }
        }
        for (byte b : bytes) {
            symbols.add(byteIds[b & 0xFF]);
        }
        return true;
    }

    /** The spelling of byte {@code b} as a byte-fallback token. */
    static String byteToken(int b) {
        return String.format("<0x%02X>", b);
    }

    private static int[] byteTokenIds(Map<String, Integer> vocab) {
        int[] ids = new int[256];
        for (int b = 0; b < 256; b++) {
            ids[b] = vocab.getOrDefault(byteToken(b), -1);
        }
        return ids;
    }

    private static void rejectUnsupportedOptions(JsonField json) {
        Optional<JsonField> dropout = json.find("dropout");
        if (dropout.isPresent() && dropout.get().number() > 0) {
            throw dropout.get().error("is not supported: BPE dropout makes encoding random");
        }
        for (String affix : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            Optional<JsonField> field = json.find(affix);
            if (field.isPresent() && !field.get().text().isEmpty()) {
                throw field.get().error("is not supported (only empty or null)");
            }
        }
    }

    private static Map<String, Integer> readVocab(JsonField json) {
        List<String> names = json.names();
        Map<String, Integer> vocab = HashMap.newHashMap(names.size());
        for (String token : names) {
            JsonField id = json.get(token);
            if (id.integer() < 0) {
                throw id.error("must not be negative");
            }
            vocab.put(token, id.integer());
        }
        return vocab;
    }

    private static BpeMerges readMerges(JsonField json, Map<String, Integer> vocab) {
        List<JsonField> lines = json.elements();
        Map<Long, Integer> rankOfPair = HashMap.newHashMap(lines.size());
        int[] resultOfRank = new int[lines.size()];
        for (int rank = 0; rank < lines.size(); rank++) {
            JsonField line = lines.get(rank);
            String[] pair = mergePair(line);
            int left = idOf(vocab, pair[0], line);
            int right = idOf(vocab, pair[1], line);
            resultOfRank[rank] = idOf(vocab, pair[0] + pair[1], line);
            rankOfPair.put(BpeMerges.pair(left, right), rank);
        }
        return new BpeMerges(rankOfPair, resultOfRank);
    }

    /** A merge is written {@code "a b"} (older files) or {@code ["a", "b"]}. */
    private static String[] mergePair(JsonField line) {
        if (line.node().isArray()) {
            List<JsonField> parts = line.elements();
            if (parts.size() != 2) {
                throw line.error("must name exactly two tokens");
            }
            return new String[] {parts.get(0).text(), parts.get(1).text()};
        }
        String text = line.text();
        int space = text.indexOf(' ');
        if (space < 0 || space != text.lastIndexOf(' ')) {
            throw line.error("must be two tokens separated by one space");
        }
        return new String[] {text.substring(0, space), text.substring(space + 1)};
    }

    private static int idOf(Map<String, Integer> vocab, String token, JsonField field) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw field.error("names token '" + token + "', which is not in model.vocab");
        }
        return id;
    }
}
