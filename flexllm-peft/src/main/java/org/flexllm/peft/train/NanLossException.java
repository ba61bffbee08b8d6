package org.flexllm.peft.train;

import org.flexllm.FlexLlmException;

/** A finetuning step's loss or gradient was not finite; the job stops before the optimizer applies it. */
public final class NanLossException extends FlexLlmException {
    public NanLossException(int step, double loss, double gradNorm) {
        super("step " + step + ": loss " + loss + ", gradient norm " + gradNorm + " is not finite; the adapter was"
                + " not updated (lower the learning rate, or check the data and the last checkpoint)");
    }
}
