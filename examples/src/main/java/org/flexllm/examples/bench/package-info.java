/**
 * The co-serving workload harness behind {@code flexllm bench coserve}: request arrivals (Poisson or a replayed
 * trace) with long-tailed lengths, a driver that submits them on schedule to an engine that co-serves a LoRA
 * job, and what comes out of a run: the SLO and throughput report and its timeline plot.
 */
package org.flexllm.examples.bench;
