package org.flexllm.examples.bench;

/**
 * One request of a workload: when it arrives and how long its prompt and output are.
 *
 * @param timeS     seconds after the start of the run
 * @param promptLen prompt tokens, at least 1
 * @param outputLen tokens to generate, at least 1
 */
public record Arrival(double timeS, int promptLen, int outputLen) {
    public Arrival {
        if (!(timeS >= 0) || promptLen < 1 || outputLen < 1) {
            throw new IllegalArgumentException("an arrival needs a time >= 0 and lengths >= 1, not " + timeS + " s, "
                    + promptLen + " prompt and " + outputLen + " output tokens");
        }
    }

    /** This request cut to fit a context of {@code maxModelLen} tokens: the prompt first, the output in the rest. */
    public Arrival fittedTo(int maxModelLen) {
        int prompt = Math.min(promptLen, maxModelLen - 1);
        return new Arrival(timeS, prompt, Math.min(outputLen, maxModelLen - prompt));
    }
}
