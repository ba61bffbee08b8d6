package org.flexllm.examples.bench;

import org.flexllm.api.Slo;

/**
 * A request of the workload, fully drawn before the run: when it arrives, its prompt and its latency class.
 *
 * @param arrival its time and lengths
 * @param prompt  its prompt's token ids
 * @param slo     its targets
 */
public record Planned(Arrival arrival, int[] prompt, Slo slo) {}
