package org.flexllm.api;

import org.flexllm.sampling.SampledToken;

/**
 * One generated token, as streamed to a {@link TokenListener}.
 *
 * @param index   0 for the first generated token
 * @param tokenId the token
 * @param text    text that became final with this token: may be empty while a multi-byte character or a
 *                possible stop string is incomplete, and holds the held-back rest on the last event
 * @param logprob the token's log-probability and alternatives, or null when not requested
 * @param last    true on the request's final event
 */
public record TokenEvent(int index, int tokenId, String text, SampledToken logprob, boolean last) {}
