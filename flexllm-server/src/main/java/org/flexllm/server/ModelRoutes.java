package org.flexllm.server;

import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.flexllm.FlexLlmException;

/**
 * {@code GET /v1/models}, and vLLM's {@code POST /v1/load_lora_adapter} ({@code {"lora_name", "lora_path"}}) and
 * {@code POST /v1/unload_lora_adapter} ({@code {"lora_name"}}).
 */
final class ModelRoutes {
    private final Models models;

    ModelRoutes(Models models) {
        this.models = models;
    }

    void register(HttpRouting.Builder routing, ApiKey key) {
        routing.get("/v1/models", Http.handler(key, (req, res) -> Http.json(res, 200, models.list())));
        routing.post("/v1/load_lora_adapter", Http.handler(key, this::load));
        routing.post("/v1/unload_lora_adapter", Http.handler(key, this::unload));
    }

    private void load(ServerRequest request, ServerResponse response) {
        Fields f = Fields.of(Json.parseObject(Http.body(request)));
        String name = f.requiredString("lora_name");
        Path path = Path.of(f.requiredString("lora_path"));
        if (models.names().contains(name)) {
            throw f.invalid("lora_name", "'" + name + "' is served already; unload it first");
        }
        if (!Files.isDirectory(path)) {
            throw f.invalid("lora_path", "'" + path + "' is not a folder");
        }
        try {
            models.registry().register(name, path);
        } catch (FlexLlmException | IllegalArgumentException e) {
            throw ApiError.badRequest("cannot load adapter '" + name + "' from " + path + ": " + e.getMessage(),
                    "lora_path");
        }
        Http.json(response, 200, Map.of("status", "ok", "message", "adapter '" + name + "' loaded"));
    }

    private void unload(ServerRequest request, ServerResponse response) {
        Fields f = Fields.of(Json.parseObject(Http.body(request)));
        String name = f.requiredString("lora_name");
        if (!models.registry().names().contains(name)) {
            throw ApiError.notFound("no adapter named '" + name + "' is loaded", "lora_name", "model_not_found");
        }
        models.registry().unregister(name);
        Http.json(response, 200, Map.of("status", "ok", "message", "adapter '" + name + "' unloaded"));
    }
}
