package org.flexllm.server;

import java.util.ArrayList;
import java.util.List;
import org.flexllm.peft.serve.AdapterRegistry;

/**
 * The models requests may name: the base model under its served name, and every adapter of the registry under its
 * own (those given at start, loaded through {@code /v1/load_lora_adapter}, and fine-tuned models).
 */
public final class Models {
    private final String baseName;
    private final AdapterRegistry registry;
    private final long created = System.currentTimeMillis() / 1000;

    /** @param baseName the name requests use for the base model */
    public Models(String baseName, AdapterRegistry registry) {
        this.baseName = baseName;
        this.registry = registry;
    }

    /** The name requests use for the base model. */
    public String baseName() {
        return baseName;
    }

    /** The adapters served besides the base model. */
    public AdapterRegistry registry() {
        return registry;
    }

    /**
     * The adapter a request runs on: null for the base model.
     *
     * @throws ApiError 404 {@code model_not_found} when neither the base model nor an adapter has that name
     */
    public String adapterFor(String model) {
        if (model.equals(baseName)) {
            return null;
        }
        if (registry.names().contains(model)) {
            return model;
        }
        throw ApiError.notFound("The model '" + model + "' does not exist; this server serves " + names(), "model",
                "model_not_found");
    }

    /** Every name, the base model's first. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        names.add(baseName);
        registry.names().stream().sorted().forEach(names::add);
        return names;
    }

    /** {@code GET /v1/models}: OpenAI's list, with vLLM's {@code root} and {@code parent}. */
    public ModelList list() {
        List<Card> cards = new ArrayList<>();
        for (String name : names()) {
            boolean base = name.equals(baseName);
            cards.add(new Card(name, "model", created, "flexllm", base ? name : baseName, base ? null : baseName));
        }
        return new ModelList("list", cards);
    }

    /** One model of the list. */
    public record Card(String id, String object, long created, String ownedBy, String root, String parent) {}

    /** The list's body. */
    public record ModelList(String object, List<Card> data) {}
}
