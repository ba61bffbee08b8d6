package org.flexllm.server.openai;

import java.util.List;

/**
 * A completion, a chat completion, or one chunk of either's stream: OpenAI's envelope around the choices.
 *
 * @param id      {@code cmpl-...} or {@code chatcmpl-...}, the same on every chunk of a stream
 * @param object  {@code text_completion}, {@code chat.completion} or {@code chat.completion.chunk}
 * @param created seconds since the epoch
 * @param model   the model or adapter the request named
 * @param choices the choices, or the chunk's
 * @param usage   token counts: on a final answer, and on a stream's last chunk when asked for; else null
 */
public record Answer(String id, String object, long created, String model, List<?> choices, Usage usage) {}
