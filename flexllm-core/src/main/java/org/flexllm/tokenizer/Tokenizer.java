package org.flexllm.tokenizer;

import com.google.common.primitives.ImmutableIntArray;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.flexllm.io.GgufMetadata;

/**
 * A Hugging Face tokenizer: text to token ids and back, as the Rust {@code tokenizers} library does it
 * for the BPE tokenizers of the LLaMA family (byte-level like Llama 3 and Qwen, SentencePiece-style like
 * Llama 2 and Mistral), plus the chat template of {@code tokenizer_config.json}.
 *
 * <p>Encoding runs the stages of {@code tokenizer.json} in order: cut out the added tokens, normalize the
 * text between them, split it into words, run BPE on each word, add special tokens. Instances are
 * immutable and safe to share between threads.
 */
public final class Tokenizer {
    private final AddedVocabulary addedVocabulary;
    private final PreTokenizer preTokenizer;
    private final BpeModel model;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final int vocabSize;
    private final OptionalInt bosId;
    private final OptionalInt eosId;
    private final Optional<ChatTemplate> chatTemplate;

    Tokenizer(AddedVocabulary addedVocabulary, PreTokenizer preTokenizer, BpeModel model, PostProcessor postProcessor,
            Decoder decoder, TokenizerConfig config) {
        this.addedVocabulary = addedVocabulary;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.postProcessor = postProcessor;
        this.decoder = decoder;
        this.vocabSize = Math.max(model.size(), addedVocabulary.size());
        this.bosId = config.bosToken().isPresent()
                ? OptionalInt.of(configuredId(config, "bos_token", config.bosToken().get()))
                : postProcessor.leadingId();
        this.eosId = config.eosToken().isPresent()
                ? OptionalInt.of(configuredId(config, "eos_token", config.eosToken().get()))
                : OptionalInt.empty();
        this.chatTemplate = config.chatTemplate()
                .map(source -> new ChatTemplate(source, config.origin(), config.templateVariables()));
    }

    /**
     * Loads {@code tokenizer.json}, or the one in a folder, together with the {@code tokenizer_config.json}
     * beside it when there is one.
     *
     * @throws TokenizerFormatException when a file cannot be read or holds something not understood
     */
    public static Tokenizer load(Path fileOrFolder) {
        return TokenizerFactory.load(fileOrFolder);
    }

    /**
     * The tokenizer of a GGUF file (llama.cpp's {@code tokenizer.ggml.*} keys, or an embedded
     * {@code tokenizer.json}), encoding as the Hugging Face tokenizer of the same model does; see
     * {@link GgufTokenizerJson}.
     *
     * @throws TokenizerFormatException when the metadata holds no tokenizer this library reads
     */
    public static Tokenizer fromGguf(GgufMetadata metadata) {
        return TokenizerFactory.fromGguf(metadata);
    }

    /**
     * A tokenizer for synthetic models without a {@code tokenizer.json}: ids 0..255 are the UTF-8 bytes,
     * 256 is BOS (added on encode with special tokens), 257 is EOS, and the ids after that up to
     * {@code vocabSize} are placeholders {@code <extra_N>} that encoding never produces.
     *
     * @throws IllegalArgumentException when {@code vocabSize} is below 256 (below 258 there is no BOS or EOS)
     */
    public static Tokenizer bytes(int vocabSize) {
        return TokenizerFactory.bytes(vocabSize);
    }

    /** The ids of {@code text}, with the special tokens the tokenizer adds (such as BOS) when asked. */
    public int[] encode(String text, boolean addSpecialTokens) {
        ImmutableIntArray.Builder ids = ImmutableIntArray.builder(text.length() / 3 + 1);
        for (AddedVocabulary.Segment segment : addedVocabulary.split(text)) {
            if (segment.isToken()) {
                ids.add(segment.tokenId());
            } else {
                for (String word : preTokenizer.split(segment.text(), segment.atStart())) {
                    model.tokenize(word, ids);
                }
            }
        }
        return postProcessor.process(ids.build().toArray(), addSpecialTokens);
    }

    /** The text of {@code ids}; ids that name no token are skipped, and special ones too when asked. */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return decode(ids, ids.length, skipSpecialTokens);
    }

    /** The text of the first {@code count} ids of {@code ids}, as {@link #decode(int[], boolean)}. */
    String decode(int[] ids, int count, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            String token = tokenOrNull(ids[i]);
            if (token != null && !(skipSpecialTokens && isSpecialToken(token))) {
                tokens.add(token);
            }
        }
        return String.join("", decoder.decodeChain(tokens));
    }

    /** A decoder for ids that arrive one by one, such as generated ones. */
    public StreamDecoder streamDecoder(boolean skipSpecialTokens) {
        return new StreamDecoder(this, skipSpecialTokens);
    }

    /** One past the highest id; the embedding matrix needs at least this many rows. */
    public int vocabSize() {
        return vocabSize;
    }

    /** Whether {@code id} is a special token (dropped when decoding with {@code skipSpecialTokens}). */
    public boolean isSpecial(int id) {
        String token = tokenOrNull(id);
        return token != null && isSpecialToken(token);
    }

    /** The id of the token spelled {@code token}, if there is one. */
    public OptionalInt id(String token) {
        AddedToken added = addedVocabulary.byContent(token);
        if (added != null) {
            return OptionalInt.of(added.id());
        }
        Integer id = model.id(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * The spelling of {@code id} in the vocabulary (byte-level tokens in their alphabet, SentencePiece
     * tokens with "▁").
     *
     * @throws IllegalArgumentException when no token has this id
     */
    public String token(int id) {
        String token = tokenOrNull(id);
        if (token == null) {
            throw new IllegalArgumentException("no token has id " + id + " (vocabulary size " + vocabSize + ")");
        }
        return token;
    }

    /** The begin-of-sequence id, from {@code tokenizer_config.json} or else the post-processor. */
    public OptionalInt bosId() {
        return bosId;
    }

    /** The end-of-sequence id, from {@code tokenizer_config.json}. */
    public OptionalInt eosId() {
        return eosId;
    }

    /** Whether {@link #applyChatTemplate} can be used. */
    public boolean hasChatTemplate() {
        return chatTemplate.isPresent();
    }

    /**
     * Renders a conversation with the chat template, optionally ending with the header of the
     * assistant's next turn. Encode the result with {@code addSpecialTokens = false}: templates write
     * their own BOS.
     *
     * @throws ChatTemplateException when there is no template, or it fails or rejects the conversation
     */
    public String applyChatTemplate(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return chatTemplate
                .orElseThrow(() -> new ChatTemplateException("the tokenizer has no chat template"))
                .render(messages, addGenerationPrompt);
    }

    private String tokenOrNull(int id) {
        AddedToken added = addedVocabulary.byId(id);
        return added != null ? added.content() : model.token(id);
    }

    private boolean isSpecialToken(String token) {
        AddedToken added = addedVocabulary.byContent(token);
        return added != null && added.special();
    }

    private int configuredId(TokenizerConfig config, String field, String token) {
        return id(token).orElseThrow(() -> new TokenizerFormatException(config.origin() + ": field '" + field
                + "' names '" + token + "', which is not a token of the tokenizer"));
    }
}
