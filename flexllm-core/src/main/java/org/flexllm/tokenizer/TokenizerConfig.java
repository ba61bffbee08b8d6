package org.flexllm.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What transformers keeps beside {@code tokenizer.json}: the names of the BOS and EOS tokens and the
 * chat template ({@code tokenizer_config.json}, or {@code chat_template.jinja} in newer folders).
 *
 * @param bosToken     the BOS token's text
 * @param eosToken     the EOS token's text
 * @param chatTemplate the Jinja source of the default chat template
 * @param origin       the file these came from, for error messages
 */
record TokenizerConfig(Optional<String> bosToken, Optional<String> eosToken, Optional<String> chatTemplate,
        String origin) {
    private static final String FILE = "tokenizer_config.json";
    private static final String TEMPLATE_FILE = "chat_template.jinja";

    /** Reads the configuration in {@code folder}; every part is empty where the files say nothing. */
    static TokenizerConfig read(Path folder) {
        Path file = folder.resolve(FILE);
        Optional<String> separateTemplate = readTemplateFile(folder.resolve(TEMPLATE_FILE));
        if (!Files.exists(file)) {
            return new TokenizerConfig(Optional.empty(), Optional.empty(), separateTemplate,
                    folder.resolve(TEMPLATE_FILE).toString());
        }
        JsonField json = JsonField.read(file);
        Optional<String> template = json.find("chat_template").map(TokenizerConfig::defaultTemplate);
        return new TokenizerConfig(tokenText(json, "bos_token"), tokenText(json, "eos_token"),
                template.or(() -> separateTemplate), file.toString());
    }

    /** The variables a chat template sees besides the conversation. */
    Map<String, String> templateVariables() {
        Map<String, String> variables = new HashMap<>();
        bosToken.ifPresent(token -> variables.put("bos_token", token));
        eosToken.ifPresent(token -> variables.put("eos_token", token));
        return variables;
    }

    /** A special token is written as its text or as an AddedToken object with {@code content}. */
    private static Optional<String> tokenText(JsonField json, String name) {
        return json.find(name).map(token -> token.node().isObject() ? token.text("content") : token.text());
    }

    /** {@code chat_template} is one template, or a list of named ones of which "default" is used. */
    private static String defaultTemplate(JsonField json) {
        if (!json.node().isArray()) {
            return json.text();
        }
        return json.elements().stream()
                .filter(named -> named.text("name").equals("default"))
                .map(named -> named.text("template"))
                .findFirst()
                .orElseThrow(() -> json.error("lists no template named \"default\""));
    }

    private static Optional<String> readTemplateFile(Path file) {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Files.readString(file));
        } catch (IOException e) {
            throw new TokenizerFormatException("cannot read " + file + ": " + e, e);
        }
    }
}
