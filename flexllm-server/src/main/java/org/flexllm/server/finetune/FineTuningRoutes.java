package org.flexllm.server.finetune;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;
import java.util.Map;
import org.flexllm.server.ApiError;
import org.flexllm.server.ApiKey;
import org.flexllm.server.Fields;
import org.flexllm.server.Http;
import org.flexllm.server.Json;

/**
 * OpenAI's files and fine-tuning routes: {@code POST /v1/files} (multipart, {@code purpose=fine-tune}),
 * {@code GET /v1/files[/{id}[/content]]}, {@code POST /v1/fine_tuning/jobs}, {@code GET /v1/fine_tuning/jobs[/{id}]},
 * {@code GET .../{id}/events}, {@code GET .../{id}/checkpoints} and {@code POST .../{id}/cancel}.
 */
public final class FineTuningRoutes {
    private static final String JOB = "/v1/fine_tuning/jobs/{id}";
    private static final int DEFAULT_LIMIT = 20;

    private final FineTuning fineTuning;

    public FineTuningRoutes(FineTuning fineTuning) {
        this.fineTuning = fineTuning;
    }

    /** Adds the routes, each checking {@code key}. */
    public void register(HttpRouting.Builder routing, ApiKey key) {
        routing.post("/v1/files", Http.handler(key, this::upload));
        routing.get("/v1/files", Http.handler(key, (req, res) -> Http.json(res, 200, page(fineTuning.files(), null,
                Integer.MAX_VALUE))));
        routing.get("/v1/files/{id}", Http.handler(key, (req, res) -> Http.json(res, 200,
                fineTuning.file(id(req)))));
        routing.get("/v1/files/{id}/content", Http.handler(key, (req, res) -> {
            byte[] content = fineTuning.fileContent(id(req));
            res.header(HeaderNames.CONTENT_TYPE, "application/octet-stream");
            res.send(content);
        }));
        routing.post("/v1/fine_tuning/jobs", Http.handler(key, (req, res) -> Http.json(res, 200,
                fineTuning.create(Fields.of(Json.parseObject(Http.body(req)))).view())));
        routing.get("/v1/fine_tuning/jobs", Http.handler(key, (req, res) -> Http.json(res, 200,
                page(fineTuning.list().stream().map(JobState::view).toList(), req, DEFAULT_LIMIT))));
        routing.get(JOB, Http.handler(key, (req, res) -> Http.json(res, 200, fineTuning.get(id(req)).view())));
        routing.get(JOB + "/events", Http.handler(key, (req, res) -> Http.json(res, 200,
                page(fineTuning.events(id(req)), req, DEFAULT_LIMIT))));
        routing.get(JOB + "/checkpoints", Http.handler(key, (req, res) -> Http.json(res, 200,
                page(fineTuning.checkpoints(id(req)).reversed(), req, DEFAULT_LIMIT))));
        routing.post(JOB + "/cancel", Http.handler(key, (req, res) -> Http.json(res, 200,
                fineTuning.cancel(id(req)).view())));
    }

    private void upload(ServerRequest request, ServerResponse response) {
        Multipart form = Multipart.parse(request.headers().first(HeaderNames.CONTENT_TYPE).orElse(null),
                Http.body(request));
        Multipart.Part file = form.parts().get("file");
        if (file == null) {
            throw ApiError.badRequest("the upload has no 'file' part", "file");
        }
        Multipart.Part purpose = form.parts().get("purpose");
        if (purpose == null) {
            throw ApiError.badRequest("the upload has no 'purpose' part (it must be 'fine-tune')", "purpose");
        }
        String name = file.filename() != null ? file.filename() : "upload.jsonl";
        Http.json(response, 200, fineTuning.upload(name, purpose.text().trim(), file.content()));
    }

    private static String id(ServerRequest request) {
        return request.path().pathParameters().get("id");
    }

    /**
     * OpenAI's list page: the items after the one whose id is the {@code after} query parameter, at most
     * {@code limit} of them.
     */
    private static Map<String, Object> page(List<?> items, ServerRequest request, int defaultLimit) {
        int limit = defaultLimit;
        String after = null;
        if (request != null) {
            String l = request.query().first("limit").orElse(null);
            try {
                limit = l == null ? defaultLimit : Integer.parseInt(l);
            } catch (NumberFormatException e) {
                throw ApiError.badRequest("'limit' must be an integer, was '" + l + "'", "limit");
            }
            after = request.query().first("after").orElse(null);
        }
        int from = 0;
        if (after != null) {
            for (int i = 0; i < items.size(); i++) {
                if (after.equals(idOf(items.get(i)))) {
                    from = i + 1;
                }
            }
        }
        int to = (int) Math.min(items.size(), (long) from + Math.max(limit, 0));
        return Map.of("object", "list", "data", items.subList(from, to), "has_more", to < items.size());
    }

    private static String idOf(Object item) {
        return switch (item) {
            case JobState.View v -> v.id();
            case JobEvent e -> e.id();
            case CheckpointView c -> c.id();
            case StoredFile f -> f.id();
            default -> null;
        };
    }
}
