package org.flexllm.model;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * The generation settings a model folder ships in {@code generation_config.json}, exactly as the file gives
 * them: an empty value means the file does not say, so the caller's own default applies.
 *
 * @param eosTokenIds  {@code eos_token_id} (one id or a list); empty when absent
 * @param doSample     {@code do_sample}: false means greedy whatever the temperature says
 * @param temperature  {@code temperature}
 * @param topP         {@code top_p}
 * @param topK         {@code top_k}
 * @param maxNewTokens {@code max_new_tokens}
 */
public record GenerationDefaults(
        List<Integer> eosTokenIds,
        Optional<Boolean> doSample,
        OptionalDouble temperature,
        OptionalDouble topP,
        OptionalInt topK,
        OptionalInt maxNewTokens) {

    /** A folder without {@code generation_config.json}. */
    public static final GenerationDefaults NONE = new GenerationDefaults(
            List.of(), Optional.empty(), OptionalDouble.empty(), OptionalDouble.empty(), OptionalInt.empty(),
            OptionalInt.empty());

    public GenerationDefaults {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /**
     * Parses a {@code generation_config.json}; keys other than the ones above are ignored.
     *
     * @throws InvalidConfigException naming the file and field when a value has the wrong type
     */
    public static GenerationDefaults read(Path generationConfigJson) {
        ConfigFile json = ConfigFile.read(generationConfigJson);
        return new GenerationDefaults(
                json.idList("eos_token_id"),
                json.optionalBoolean("do_sample"),
                json.optionalDouble("temperature"),
                json.optionalDouble("top_p"),
                json.optionalInt("top_k", 0),
                json.optionalInt("max_new_tokens", 0));
    }
}
