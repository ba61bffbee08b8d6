package org.flexllm.sampling;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/** A {@link SamplingParams} field holds a value outside its range; the message names the field and the range. */
public final class InvalidSamplingParamsException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    private final String field;

    InvalidSamplingParamsException(String field, String requirement, Object value) {
        super("SamplingParams." + field + " " + requirement + ", got " + value);
        this.field = field;
    }

    /** The name of the offending field, as the builder spells it (e.g. {@code "topP"}). */
    public String field() {
        return field;
    }
}
