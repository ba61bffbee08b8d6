package org.flexllm.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.random.RandomGenerator;
import org.flexllm.api.AdapterHost;
import org.flexllm.api.FinishReason;
import org.flexllm.api.GenerationResult;
import org.flexllm.api.Slo;
import org.flexllm.api.TokenEvent;
import org.flexllm.api.TokenListener;
import org.flexllm.api.Timings;
import org.flexllm.sampling.SampledToken;
import org.flexllm.sampling.SamplingParams;
import org.flexllm.sampling.TokenHistory;
import org.flexllm.schedule.Deadlines;
import org.flexllm.schedule.Sequence;
import org.flexllm.speculation.Decoding;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An inference request inside the engine: its sequence, how it samples, what it has produced so far, and the
 * caller's future and listener. Touched only by the engine thread (apart from the future).
 */
final class Request implements Decoding {
    private static final Logger LOG = LoggerFactory.getLogger(Request.class);

    final Sequence sequence;
    final SamplingParams params;
    /** {@link SamplingParams#stopTokenIds()} unboxed, checked against every sampled token. */
    final int[] stopTokenIds;
    final RandomGenerator random;
    final TokenHistory history;
    final OutputText text;
    final CompletableFuture<GenerationResult> future;
    final Slo slo;
    /** The adapter it names, or null for the base model. */
    final String adapter;
    /** Whether it decodes speculatively when the engine speculates. */
    final boolean speculative;
    private final TokenListener listener;
    private final List<SampledToken> logprobs = new ArrayList<>();
    private final SampledToken[] promptLogprobs;
    private final long arrivalNanos;
    /** Not yet: the engine clock's origin is arbitrary, so no real time can serve as the mark. */
    private static final long NOT_YET = Long.MIN_VALUE;
    private long firstScheduledNanos = NOT_YET;
    private long firstTokenNanos = NOT_YET;
    private long lastTokenNanos;
    private boolean adapterReleased;

    Request(Sequence sequence, String adapter, SamplingParams params, RandomGenerator random, TokenHistory history,
            OutputText text, TokenListener listener, CompletableFuture<GenerationResult> future, Slo slo,
            long arrivalNanos, boolean speculative) {
        this.adapter = adapter;
        this.slo = slo;
        this.speculative = speculative;
        this.arrivalNanos = arrivalNanos;
        sequence.setDeadlines(new Deadlines(arrivalNanos, Math.round(slo.ttftMs() * 1e6),
                Math.round(slo.tpotMs() * 1e6)));
        this.sequence = sequence;
        this.params = params;
        this.stopTokenIds = params.stopTokenIds().stream().mapToInt(Integer::intValue).toArray();
        this.random = random;
        this.history = history;
        this.text = text;
        this.listener = listener;
        this.future = future;
        this.promptLogprobs = params.promptLogprobs().isPresent() ? new SampledToken[sequence.promptLength()] : null;
    }

    @Override
    public long id() {
        return sequence.id();
    }

    @Override
    public int length() {
        return sequence.length();
    }

    @Override
    public int token(int position) {
        return sequence.token(position);
    }

    @Override
    public int promptLength() {
        return sequence.promptLength();
    }

    @Override
    public int generated() {
        return sequence.generated();
    }

    @Override
    public long firstTokenNanos() {
        return firstTokenNanos;
    }

    @Override
    public Slo slo() {
        return slo;
    }

    @Override
    public SamplingParams params() {
        return params;
    }

    @Override
    public TokenHistory history() {
        return history;
    }

    @Override
    public RandomGenerator random() {
        return random;
    }

    /**
     * Unpins the request's adapter slot, if it has one. Only the first call releases: a request whose result
     * fails to build is retired once for finishing and again for failing.
     */
    void releaseAdapter(AdapterHost adapters) {
        if (sequence.adapter() >= 0 && !adapterReleased) {
            adapterReleased = true;
            adapters.release(sequence.adapter());
        }
    }

    /** Whether the logits at {@code position} are needed: to sample, or to score the next prompt token. */
    boolean wantsLogits(int position) {
        return position == sequence.length() - 1
                || promptLogprobs != null && position < sequence.promptLength() - 1
                && promptLogprobs[position + 1] == null;
    }

    void recordPromptLogprob(int position, SampledToken scored) {
        promptLogprobs[position] = scored;
    }

    void markScheduled(long now) {
        if (firstScheduledNanos == NOT_YET) {
            firstScheduledNanos = now;
        }
    }

    /**
     * Appends a sampled token and streams it.
     *
     * @param logprob   the token's log-probability and alternatives, or null when not requested
     * @param stopToken whether the token ends generation (an end-of-sequence or stop id)
     * @param now       the engine clock's time
     * @return why the request is finished now, or null when it goes on
     */
    FinishReason accept(int token, SampledToken logprob, boolean stopToken, int contextLimit, long now) {
        firstTokenNanos = firstTokenNanos == NOT_YET ? now : firstTokenNanos;
        sequence.markFirstToken(now);
        lastTokenNanos = now;
        sequence.append(token);
        history.add(token);
        if (logprob != null) {
            logprobs.add(logprob);
        }
        FinishReason finish = finishReason(token, stopToken, contextLimit);
        String delta = text.release(finish != null);
        notify(new TokenEvent(sequence.generated() - 1, token, delta, logprob, finish != null));
        return finish;
    }

    /** A stop token's own text is never output; every finish releases what the decoder still holds. */
    private FinishReason finishReason(int token, boolean stopToken, int contextLimit) {
        if (stopToken) {
            text.finish();
            return FinishReason.STOP;
        }
        boolean stopString = text.add(token);
        if (stopString) {
            return FinishReason.STOP;
        }
        if (sequence.generated() >= params.maxTokens() || sequence.length() >= contextLimit) {
            return text.finish() ? FinishReason.STOP : FinishReason.LENGTH;
        }
        return null;
    }

    private void notify(TokenEvent event) {
        if (listener == null) {
            return;
        }
        try {
            listener.onToken(event);
        } catch (RuntimeException e) {
            LOG.warn("token listener of request {} threw; ignoring", sequence.id(), e);
        }
    }

    GenerationResult result(FinishReason finish) {
        double toMs = 1e-6;
        int generated = sequence.generated();
        Timings timings = new Timings(
                (firstScheduledNanos - arrivalNanos) * toMs,
                (firstTokenNanos - arrivalNanos) * toMs,
                generated > 1 ? (lastTokenNanos - firstTokenNanos) * toMs / (generated - 1) : 0,
                (lastTokenNanos - arrivalNanos) * toMs);
        return new GenerationResult(boxed(Arrays.copyOf(sequence.allTokens(), sequence.promptLength())),
                boxed(sequence.output()), text.text(), finish, logprobs,
                promptLogprobs == null ? List.of() : Arrays.asList(promptLogprobs), timings,
                sequence.preemptions(), slo);
    }

    private static List<Integer> boxed(int[] ids) {
        return Arrays.stream(ids).boxed().toList();
    }
}
