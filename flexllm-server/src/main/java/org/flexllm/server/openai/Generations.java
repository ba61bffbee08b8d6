package org.flexllm.server.openai;

import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.flexllm.api.GenerationRequest;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.LlmEngine;
import org.flexllm.api.Prompt;
import org.flexllm.sampling.SampledToken;
import org.flexllm.server.Admission;
import org.flexllm.server.Http;
import org.flexllm.server.Models;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the generations of one completion or chat request, {@code n} choices per prompt, and answers with one
 * JSON object or a stream of chunks. A streaming client that goes away has its choices cancelled, which frees their
 * KV blocks and adapter pins.
 */
final class Generations {
    private static final Logger LOG = LoggerFactory.getLogger(Generations.class);
    /** How long a stream waits for a token before writing a keep-alive that finds a vanished client. */
    private static final long KEEP_ALIVE_SECONDS = 2;

    private final LlmEngine engine;
    private final Models models;
    private final Admission admission;

    Generations(LlmEngine engine, Models models, Admission admission) {
        this.engine = engine;
        this.models = models;
        this.admission = admission;
    }

    /** Generates for every prompt and answers on {@code response}. */
    void answer(Sampling sampling, List<Prompt> prompts, Dialect dialect, ServerResponse response)
            throws InterruptedException {
        String adapter = models.adapterFor(sampling.model());
        List<GenerationRequest> requests = new ArrayList<>();
        for (Prompt p : prompts) {
            for (int i = 0; i < sampling.n(); i++) {
                requests.add(new GenerationRequest(p, sampling.forChoice(i), null, adapter, sampling.slo()));
            }
        }
        admission.admit(requests.size());
        try {
            Choices choices = Choices.submit(engine::submit, requests, sampling.stream());
            String id = dialect.idPrefix() + UUID.randomUUID().toString().replace("-", "");
            long created = System.currentTimeMillis() / 1000;
            if (sampling.stream()) {
                Envelope envelope = new Envelope(id, created, sampling.model(), dialect);
                stream(envelope, choices, sampling, new EventStream(response));
            } else {
                List<GenerationResult> results = choices.await();
                List<Object> out = new ArrayList<>();
                for (int i = 0; i < results.size(); i++) {
                    out.add(dialect.choice(i, results.get(i)));
                }
                Http.json(response, 200, new Answer(id, dialect.object(), created, sampling.model(), out,
                        Usage.of(results, sampling.n())));
            }
        } finally {
            admission.release(requests.size());
        }
    }

    /** What every chunk of one stream shares. */
    record Envelope(String id, long created, String model, Dialect dialect) {
        Answer chunk(Object choice) {
            return new Answer(id, dialect.chunkObject(), created, model, List.of(choice), null);
        }
    }

    /**
     * Streams the choices' tokens and endings as they come, each token its own chunk; those queued together are
     * written together. A client that has gone has its choices cancelled.
     */
    static void stream(Envelope envelope, Choices choices, Sampling sampling, EventStream events)
            throws InterruptedException {
        try {
            for (int i = 0; i < choices.size(); i++) {
                Object opening = envelope.dialect().opening(i);
                if (opening != null) {
                    events.add(envelope.chunk(opening));
                }
            }
            events.flush();
            GenerationResult[] results = new GenerationResult[choices.size()];
            List<Choices.Item> batch = new ArrayList<>();
            for (int open = choices.size(); open > 0; ) {
                batch.clear();
                choices.next(batch, KEEP_ALIVE_SECONDS, TimeUnit.SECONDS);
                if (batch.isEmpty()) {
                    events.keepAlive();
                    continue;
                }
                for (Choices.Item item : batch) {
                    switch (item) {
                        case Choices.Token t -> addToken(envelope, t, sampling, events);
                        case Choices.Done d when d.error() != null -> {
                            events.send(d.error().body());
                            choices.cancel();
                            events.close();
                            return;
                        }
                        case Choices.Done d -> {
                            results[d.index()] = d.result();
                            events.add(envelope.chunk(envelope.dialect().finish(d.index(), d.result())));
                            open--;
                        }
                    }
                }
                if (open > 0) {
                    events.flush(); // the last batch leaves with the usage chunk and [DONE], in one write
                }
            }
            if (sampling.includeUsage()) {
                events.add(new Answer(envelope.id(), envelope.dialect().chunkObject(), envelope.created(),
                        envelope.model(), List.of(), Usage.of(Arrays.asList(results), sampling.n())));
            }
            events.done();
            events.close();
        } catch (EventStream.ClientGoneException e) {
            LOG.debug("a streaming client left; cancelling its {} choices", choices.size());
            choices.cancel();
            throw e;
        }
    }

    private static void addToken(Envelope envelope, Choices.Token t, Sampling sampling, EventStream events) {
        boolean logprobs = sampling.params().logprobs().isPresent();
        if (t.event().text().isEmpty() && !logprobs) {
            return;
        }
        List<SampledToken> sampled = logprobs && t.event().logprob() != null ? List.of(t.event().logprob()) : List.of();
        events.add(envelope.chunk(envelope.dialect().delta(t.index(), t.event().text(), sampled)));
    }
}
