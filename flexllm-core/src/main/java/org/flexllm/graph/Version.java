package org.flexllm.graph;

/**
 * A value as it stands between two ops of the layer body: values are updated in place, so the residual
 * stream read by the first norm and by the second are different activations.
 *
 * @param value  the value
 * @param writer index in the layer body of the op that last wrote it, or −1 for the layer's input
 */
record Version(Value value, int writer) {}
