package org.flexllm.schedule;

/**
 * One iteration of a co-serving engine: inference chunks and, from what they leave, finetuning work.
 *
 * @param inference   decode tokens and prefill chunks
 * @param window      a finetuning forward window riding in the same forward pass, or null
 * @param slice       a backward slice run after the forward pass, or null
 * @param whole       a lane whose sample runs whole (forward and backward) instead of inference, or null
 * @param composition what the iteration computes, for the latency model
 * @param predictedMs the latency model's prediction
 * @param boundMs     the latency the iteration should stay under ({@link LatencyModel#boundMs}): what was planned
 * @param limitMs     the latency the running requests' SLOs allow ({@code Double.POSITIVE_INFINITY} when none)
 * @param waiting     finetuning jobs with work that got none: nothing of theirs fit within the limit
 */
public record CoServingPlan(IterationPlan inference, Window window, Slice slice, TrainingLane whole,
                            Composition composition, double predictedMs, double boundMs, double limitMs,
                            int waiting) {

    /** Positions {@code [lane.forwardDone(), + count)} of a lane's forward sample. */
    public record Window(TrainingLane lane, int count) {}

    /**
     * Layers {@code [lane.backwardTop() - layers, lane.backwardTop())} of a lane's backward sample, each on its
     * last {@code rows} of the rows left: whole layers (rows = the sample's length), or one layer's chunk of rows
     * when a whole layer does not fit the iteration.
     */
    public record Slice(TrainingLane lane, int layers, int rows) {

        /** {@code layers} whole layers. */
        public static Slice ofLayers(TrainingLane lane, int layers) {
            return new Slice(lane, layers, lane.backwardSample().length());
        }

        /** The rows {@code [first, first + rows)} of the sample it runs on. */
        public int firstRow() {
            return lane.backwardRowsLeft() - rows;
        }
    }

    public boolean isEmpty() {
        return composition.isEmpty();
    }
}
