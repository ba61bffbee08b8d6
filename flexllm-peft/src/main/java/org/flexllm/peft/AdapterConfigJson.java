package org.flexllm.peft;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.flexllm.graph.Projection;
import org.flexllm.io.Json;

/**
 * {@code adapter_config.json} in Hugging Face PEFT's format. Reading applies PEFT's defaults for absent (or
 * null) fields and refuses every field whose value would change what the adapter computes in a way we do not
 * implement; fields that do not (task_type, revision, inference_mode, ...) are ignored.
 */
final class AdapterConfigJson {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final ObjectMapper WRITER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private AdapterConfigJson() {}

    static AdapterConfig read(Path file) {
        JsonNode root = parse(file);
        try {
            return fromJson(root);
        } catch (InvalidAdapterConfigException e) {
            throw new InvalidAdapterConfigException(file, e.getMessage(), e);
        } catch (UnsupportedAdapterException e) {
            throw new UnsupportedAdapterException(file, e.getMessage(), e);
        }
    }

    static void write(AdapterConfig config, Path file) {
        try {
            AtomicFiles.write(file, WRITER.writeValueAsString(toJson(config)).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write adapter config " + file, e);
        }
    }

    private static JsonNode parse(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (CharacterCodingException e) {
            throw new InvalidAdapterConfigException(file, "not UTF-8 text: " + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new InvalidAdapterConfigException(file, "not found: a PEFT adapter folder holds "
                    + AdapterConfig.FILE_NAME + " and adapter_model.safetensors", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read adapter config " + file, e);
        }
        try {
            JsonNode root = Json.parse(text);
            if (!root.isObject()) {
                throw new InvalidAdapterConfigException(file, "not a JSON object");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw new InvalidAdapterConfigException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static AdapterConfig fromJson(JsonNode root) {
        PeftMethod method = PeftMethod.fromPeftType(text(root, "peft_type")
                .orElseThrow(() -> new InvalidAdapterConfigException("peft_type is missing")));
        requireDefault(root, "fan_in_fan_out", AdapterConfigJson::isFalse, "Conv1D-style (in, out) weights");
        requireDefault(root, "modules_to_save", AdapterConfigJson::isEmpty, "fully trained extra modules");
        requireDefault(root, "exclude_modules", AdapterConfigJson::isEmpty, "excluded modules");
        AdapterConfig.Builder builder = AdapterConfig.builder()
                .method(method)
                .targets(modules(root, "target_modules")
                        .orElseThrow(() -> new InvalidAdapterConfigException("target_modules is missing")));
        text(root, "base_model_name_or_path").ifPresent(builder::baseModelNameOrPath);
        if (method == PeftMethod.LORA) {
            readLora(root, builder);
        } else {
            modules(root, "feedforward_modules").ifPresent(builder::feedforwardModules);
        }
        return builder.build();
    }

    private static void readLora(JsonNode root, AdapterConfig.Builder builder) {
        requireDefault(root, "use_dora", AdapterConfigJson::isFalse, "DoRA");
        requireDefault(root, "bias", v -> v.isTextual() && v.textValue().equals("none"), "trained biases");
        requireDefault(root, "lora_bias", AdapterConfigJson::isFalse, "a bias on lora_B");
        requireDefault(root, "rank_pattern", AdapterConfigJson::isEmpty, "per-module ranks");
        requireDefault(root, "alpha_pattern", AdapterConfigJson::isEmpty, "per-module alphas");
        requireDefault(root, "layers_to_transform", AdapterConfigJson::isEmpty, "adapting only some layers");
        requireDefault(root, "layer_replication", AdapterConfigJson::isEmpty, "layer replication");
        value(root, "r", v -> v.isIntegralNumber() && v.canConvertToInt(), "an integer")
                .ifPresent(v -> builder.r(v.intValue()));
        value(root, "lora_alpha", JsonNode::isNumber, "a number").ifPresent(v -> builder.loraAlpha(v.doubleValue()));
        value(root, "lora_dropout", JsonNode::isNumber, "a number")
                .ifPresent(v -> builder.loraDropout(v.doubleValue()));
        value(root, "use_rslora", JsonNode::isBoolean, "true or false")
                .ifPresent(v -> builder.useRslora(v.booleanValue()));
    }

    /** A list of module names, or PEFT's {@code all-linear}; other strings are regular expressions to PEFT. */
    private static Optional<Set<Projection>> modules(JsonNode root, String field) {
        return value(root, field, v -> v.isArray() || v.isTextual(), "a list of module names").map(v -> {
            if (v.isArray()) {
                return TargetModules.of(v.valueStream().map(name -> moduleName(field, name)).toList());
            }
            if (v.textValue().equals(TargetModules.ALL_LINEAR)) {
                return EnumSet.allOf(Projection.class);
            }
            throw new UnsupportedAdapterException(field + " = \"" + v.textValue() + "\": a regular expression;"
                    + " list the module names instead (or '" + TargetModules.ALL_LINEAR + "')");
        });
    }

    private static String moduleName(String field, JsonNode name) {
        if (!name.isTextual()) {
            throw new InvalidAdapterConfigException(field + " holds " + name + ", not a module name");
        }
        return name.textValue();
    }

    /** Refuses {@code field} when it is present, not null and not the value that leaves the feature off. */
    private static void requireDefault(JsonNode root, String field, Predicate<JsonNode> isOff, String feature) {
        JsonNode v = root.get(field);
        if (v != null && !v.isNull() && !isOff.test(v)) {
            throw new UnsupportedAdapterException(field + " = " + v + ": " + feature + " is not supported");
        }
    }

    private static boolean isEmpty(JsonNode v) {
        return v.isContainerNode() && v.isEmpty();
    }

    private static boolean isFalse(JsonNode v) {
        return v.isBoolean() && !v.booleanValue();
    }

    private static Optional<String> text(JsonNode root, String field) {
        return value(root, field, JsonNode::isTextual, "a string").map(JsonNode::textValue);
    }

    /** The field's value, empty when absent or null (PEFT then uses its default). */
    private static Optional<JsonNode> value(JsonNode root, String field, Predicate<JsonNode> valid, String what) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!valid.test(v)) {
            throw new InvalidAdapterConfigException(field + " = " + v + ": must be " + what);
        }
        return Optional.of(v);
    }

    /** The fields PEFT writes for this method, sorted by name as PEFT's {@code save_pretrained} sorts them. */
    private static ObjectNode toJson(AdapterConfig config) {
        Map<String, JsonNode> fields = new TreeMap<>();
        fields.put("auto_mapping", NODES.nullNode());
        fields.put("base_model_name_or_path",
                config.baseModelNameOrPath().<JsonNode>map(NODES::textNode).orElse(NODES.nullNode()));
        fields.put("fan_in_fan_out", NODES.booleanNode(false));
        fields.put("inference_mode", NODES.booleanNode(true));
        fields.put("modules_to_save", NODES.nullNode());
        fields.put("peft_type", NODES.textNode(config.method().peftType()));
        fields.put("revision", NODES.nullNode());
        fields.put("target_modules", moduleList(config.targets()));
        fields.put("task_type", NODES.textNode("CAUSAL_LM"));
        if (config.method() == PeftMethod.LORA) {
            fields.put("alpha_pattern", NODES.objectNode());
            fields.put("bias", NODES.textNode("none"));
            fields.put("init_lora_weights", NODES.booleanNode(true));
            fields.put("layers_pattern", NODES.nullNode());
            fields.put("layers_to_transform", NODES.nullNode());
            fields.put("lora_alpha", number(config.loraAlpha()));
            fields.put("lora_dropout", NODES.numberNode(config.loraDropout()));
            fields.put("r", NODES.numberNode(config.r()));
            fields.put("rank_pattern", NODES.objectNode());
            fields.put("use_dora", NODES.booleanNode(false));
            fields.put("use_rslora", NODES.booleanNode(config.useRslora()));
        } else {
            fields.put("exclude_modules", NODES.nullNode());
            fields.put("feedforward_modules", moduleList(config.feedforwardModules()));
            fields.put("init_ia3_weights", NODES.booleanNode(true));
        }
        ObjectNode json = NODES.objectNode();
        json.setAll(fields);
        return json;
    }

    private static ArrayNode moduleList(Set<Projection> projections) {
        ArrayNode list = NODES.arrayNode();
        projections.forEach(p -> list.add(p.moduleName()));
        return list;
    }

    /** An integral alpha as an integer, as PEFT's (int-typed) field holds it. */
    private static JsonNode number(double value) {
        return value == Math.rint(value) && Math.abs(value) < Integer.MAX_VALUE
                ? NODES.numberNode((int) value) : NODES.numberNode(value);
    }
}
