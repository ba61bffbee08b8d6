package org.flexllm.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A node of a tokenizer JSON file together with where it sits, so that every complaint about the file
 * names the file and the field ({@code model.merges[12]}).
 */
record JsonField(Path file, String path, JsonNode node) {
    /**
     * Vocabularies are objects with 100k+ distinct member names; canonicalizing and interning them, as
     * Jackson does by default for the benefit of repeated names, costs more than it saves.
     */
    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .build());

    /** Parses {@code file}, whose top level must be an object. */
    static JsonField read(Path file) {
        JsonNode root;
        try (InputStream in = Files.newInputStream(file)) {
            root = MAPPER.readTree(in);
        } catch (JacksonException e) {
            throw new TokenizerFormatException(file + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new TokenizerFormatException("cannot read " + file + ": " + e, e);
        }
        if (root == null || !root.isObject()) {
            throw new TokenizerFormatException(file + " must hold a JSON object at the top level");
        }
        return new JsonField(file, "", root);
    }

    /** The member {@code name}, which must be present and not null. */
    JsonField get(String name) {
        return find(name).orElseThrow(() -> child(name).error("is missing"));
    }

    /** The member {@code name}, or empty when it is absent or null. */
    Optional<JsonField> find(String name) {
        requireObject();
        JsonNode value = node.get(name);
        return value == null || value.isNull() ? Optional.empty() : Optional.of(child(name).with(value));
    }

    /** The names of this object's members, in file order. */
    List<String> names() {
        requireObject();
        List<String> names = new ArrayList<>(node.size());
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** The elements of this array. */
    List<JsonField> elements() {
        if (!node.isArray()) {
            throw error("must be an array");
        }
        List<JsonField> elements = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            elements.add(new JsonField(file, path + "[" + i + "]", node.get(i)));
        }
        return elements;
    }

    String text() {
        if (!node.isTextual()) {
            throw error("must be a string");
        }
        return node.textValue();
    }

    int integer() {
        if (!node.canConvertToExactIntegral() || !node.canConvertToInt()) {
            throw error("must be an integer");
        }
        return node.intValue();
    }

    double number() {
        if (!node.isNumber()) {
            throw error("must be a number");
        }
        return node.doubleValue();
    }

    boolean bool() {
        if (!node.isBoolean()) {
            throw error("must be true or false");
        }
        return node.booleanValue();
    }

    /** The member {@code name} as a string. */
    String text(String name) {
        return get(name).text();
    }

    /** The member {@code name} as a boolean, or {@code absent} when it is absent or null. */
    boolean bool(String name, boolean absent) {
        return find(name).map(JsonField::bool).orElse(absent);
    }

    /** The member {@code name} as an int, or {@code absent} when it is absent or null. */
    int integer(String name, int absent) {
        return find(name).map(JsonField::integer).orElse(absent);
    }

    /**
     * The member {@code name} as a pattern: {@code {"String": s}} matches {@code s} literally,
     * {@code {"Regex": r}} is a regular expression whose {@code \s}, {@code \w} and case folding are
     * Unicode-aware as in the Rust library.
     */
    Pattern pattern(String name) {
        JsonField pattern = get(name);
        Optional<JsonField> literal = pattern.find("String");
        if (literal.isPresent()) {
            return Pattern.compile(Pattern.quote(literal.get().text()));
        }
        JsonField regex = pattern.find("Regex").orElseThrow(() -> pattern.error("must hold \"String\" or \"Regex\""));
        try {
            return Pattern.compile(regex.text(), Pattern.UNICODE_CHARACTER_CLASS);
        } catch (PatternSyntaxException e) {
            throw regex.error("is not a valid regular expression: " + e.getDescription());
        }
    }

    /** The {@code type} member that tags every normalizer, pre-tokenizer, model, decoder and post-processor. */
    String type() {
        return text("type");
    }

    /** An exception saying what is wrong with this field. */
    TokenizerFormatException error(String problem) {
        return new TokenizerFormatException(file + ": field '" + path + "' " + problem);
    }

    /** The exception for a {@code type} this library does not implement. */
    TokenizerFormatException unsupported(String what) {
        return get("type").error("names " + what + " '" + type() + "', which is not supported");
    }

    private JsonField child(String name) {
        return new JsonField(file, path.isEmpty() ? name : path + "." + name, null);
    }

    private JsonField with(JsonNode value) {
        return new JsonField(file, path, value);
    }

    private void requireObject() {
        if (!node.isObject()) {
            throw error("must be an object");
        }
    }
}
