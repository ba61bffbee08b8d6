package org.flexllm.tokenizer;

import com.google.common.base.Preconditions;
import com.google.common.primitives.ImmutableIntArray;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.flexllm.io.GgufMetadata;

/** Builds tokenizers: from {@code tokenizer.json} files, from GGUF metadata, and the built-in byte tokenizer. */
final class TokenizerFactory {
    private static final String FILE = "tokenizer.json";
    private static final int BYTE_TOKENIZER_BOS = 256;
    private static final int BYTE_TOKENIZER_EOS = 257;

    private TokenizerFactory() {
    }

    static Tokenizer load(Path fileOrFolder) {
        Path file = Files.isDirectory(fileOrFolder) ? fileOrFolder.resolve(FILE) : fileOrFolder;
        return fromJson(JsonField.read(file), TokenizerConfig.read(file.toAbsolutePath().getParent()));
    }

    /** The tokenizer of a GGUF file's metadata, through its equivalent {@code tokenizer.json}. */
    static Tokenizer fromGguf(GgufMetadata metadata) {
        JsonField json = new JsonField(metadata.file(), "", GgufTokenizerJson.of(metadata));
        List<String> tokens = metadata.strings("tokenizer.ggml.tokens");
        return fromJson(json, new TokenizerConfig(token(metadata, tokens, "tokenizer.ggml.bos_token_id"),
                token(metadata, tokens, "tokenizer.ggml.eos_token_id"),
                metadata.optionalString("tokenizer.chat_template"), metadata.file().toString()));
    }

    private static Optional<String> token(GgufMetadata metadata, List<String> tokens, String key) {
        long id = metadata.optionalInteger(key).orElse(-1);
        return id >= 0 && id < tokens.size() ? Optional.of(tokens.get((int) id)) : Optional.empty();
    }

    private static Tokenizer fromJson(JsonField json, TokenizerConfig config) {
        Normalizer normalizer = json.find("normalizer").map(Normalizer::read).orElse(Normalizer.NONE);
        List<AddedToken> addedTokens = json.find("added_tokens")
                .map(tokens -> tokens.elements().stream().map(AddedToken::read).toList())
                .orElse(List.of());
        return new Tokenizer(
                new AddedVocabulary(addedTokens, normalizer),
                json.find("pre_tokenizer").map(PreTokenizer::read).orElse(PreTokenizer.NONE),
                BpeModel.read(json.get("model")),
                json.find("post_processor").map(PostProcessor::read).orElse(PostProcessor.NONE),
                json.find("decoder").map(Decoder::read).orElse(Decoder.NONE),
                config);
    }

    static Tokenizer bytes(int vocabSize) {
        Preconditions.checkArgument(vocabSize >= 256,
                "a byte tokenizer needs a vocabulary of at least the 256 bytes, not %s", vocabSize);
        List<String> tokens = new ArrayList<>(vocabSize);
        for (int b = 0; b < 256; b++) {
            tokens.add(BpeModel.byteToken(b));
        }
        // A vocabulary of exactly the bytes (a model folder without tokenizer.json) has no room for specials.
        List<AddedToken> specials = vocabSize > BYTE_TOKENIZER_EOS
                ? List.of(AddedToken.special(BYTE_TOKENIZER_BOS, "<s>"), AddedToken.special(BYTE_TOKENIZER_EOS, "</s>"))
                : List.of();
        specials.forEach(t -> tokens.add(t.content()));
        for (int id = tokens.size(); id < vocabSize; id++) {
            tokens.add("<extra_" + id + ">");
        }
        // No byte has a character token, so every character falls back to its <0xNN> bytes.
        ImmutableIntArray prefix = specials.isEmpty() ? ImmutableIntArray.of() : ImmutableIntArray.of(BYTE_TOKENIZER_BOS);
        return new Tokenizer(
                new AddedVocabulary(specials, Normalizer.NONE),
                PreTokenizer.NONE,
                BpeModel.withoutMerges(tokens, true),
                new PostProcessor.TemplateProcessing(prefix, ImmutableIntArray.of()),
                new Decoder.Sequence(List.of(new Decoder.ByteFallback(), new Decoder.Fuse())),
                new TokenizerConfig(specials.stream().findFirst().map(AddedToken::content),
                        specials.stream().skip(1).findFirst().map(AddedToken::content), Optional.empty(),
                        "the built-in byte tokenizer"));
    }
}
