package org.flexllm.peft.train;

import java.nio.file.Path;

/**
 * A checkpoint a job has written to disk, as {@link Finetuner#onCheckpoint} reports it.
 *
 * @param step    the step it holds the adapter after
 * @param adapter its PEFT adapter folder ({@code OUT/checkpoint-STEP/adapter}), which an adapter registry can serve
 */
public record SavedCheckpoint(int step, Path adapter) {}
