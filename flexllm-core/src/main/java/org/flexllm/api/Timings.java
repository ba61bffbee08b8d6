package org.flexllm.api;

/**
 * Latencies of one request, in milliseconds.
 *
 * @param queueMs   submission to first scheduled
 * @param ttftMs    submission to first generated token (time to first token)
 * @param tpotMs    mean time per output token after the first (0 with a single token)
 * @param e2eMs     submission to the last token
 */
public record Timings(double queueMs, double ttftMs, double tpotMs, double e2eMs) {}
