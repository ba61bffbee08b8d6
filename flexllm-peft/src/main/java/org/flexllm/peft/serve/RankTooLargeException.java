package org.flexllm.peft.serve;

import java.io.Serial;
import org.flexllm.FlexLlmException;

/** A LoRA adapter whose rank exceeds what the registry reserved for LoRA's low-rank activations. */
public class RankTooLargeException extends FlexLlmException {
    @Serial
    private static final long serialVersionUID = 1L;

    /** @param source the adapter's folder, or the finetuning job training it */
    public RankTooLargeException(String source, int r, int maxRank) {
        super(source + ": r = " + r + " exceeds the registry's maxRank " + maxRank + " (the width reserved for"
                + " LoRA's low-rank activations); create the AdapterRegistry with maxRank " + r + " or more");
    }
}
