package org.flexllm.peft.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.flexllm.io.SafetensorsWriter;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.tensor.Tensor;

/**
 * One run of a job's steps, from its first step (0, or a checkpoint's) to the end: checkpoints every N steps and
 * on cancel, the final adapter into the output folder, the evaluation loss.
 *
 * @param output          the adapter's folder; checkpoints go to its {@code checkpoint-N} subfolders
 * @param firstStep       steps already done (by the checkpoint resumed from)
 * @param history         their records
 * @param checkpointEvery steps between checkpoints, 0 for none but the last
 * @param eval            held-out examples, maybe none
 */
record JobRun(Path output, int firstStep, List<StepRecord> history, int checkpointEvery,
              List<TrainingExample> eval, long seed) {

    FinetuneJob.FinetuneResult execute(TrainingLoop loop, BooleanSupplier stop, Consumer<StepRecord> listener) {
        List<StepRecord> done = new ArrayList<>(history);
        for (int step = firstStep; step < loop.totalSteps(); step++) {
            if (stop.getAsBoolean()) {
                Path checkpoint = checkpoint(loop, step, done);
                throw new CancellationException("finetuning cancelled after step " + step + "; resume from "
                        + checkpoint);
            }
            StepRecord record = loop.step(step);
            done.add(record);
            listener.accept(record);
            if (checkpointEvery > 0 && (step + 1) % checkpointEvery == 0) {
                checkpoint(loop, step + 1, done);
            }
        }
        if (checkpointEvery == 0 || loop.totalSteps() % checkpointEvery != 0) {
            checkpoint(loop, loop.totalSteps(), done);
        }
        Adapter adapter = detached(loop.adapter());
        writeAdapter(adapter);
        double evalLoss = eval.isEmpty() ? Double.NaN : loop.evaluate(eval);
        double finalLoss = done.isEmpty() ? Double.NaN : done.getLast().loss();
        return new FinetuneJob.FinetuneResult(adapter, output, loop.totalSteps(), finalLoss, evalLoss);
    }

    /** A copy of the adapter in memory of its own: the loop's, which it views, is freed when the job ends. */
    private static Adapter detached(Adapter adapter) {
        Arena arena = Arena.ofAuto();
        SequencedMap<String, Tensor> copies = new LinkedHashMap<>();
        adapter.tensors().forEach((key, t) -> copies.put(key, new Tensor(key, t.dtype(), t.shape(),
                arena.allocate(t.data().byteSize(), Float.BYTES).copyFrom(t.data()))));
        return new Adapter(adapter.config(), copies);
    }

    private Path checkpoint(TrainingLoop loop, int step, List<StepRecord> done) {
        var state = new JobCheckpoint.TrainerState(step, loop.optimizer().steps(), seed, List.copyOf(done));
        return JobCheckpoint.write(output, step, loop.adapter(), loop.optimizer(), state);
    }

    /**
     * The adapter's two files, each replaced atomically; the config first, as it is the same for the whole job,
     * so that a crash between the two leaves a consistent adapter.
     */
    private void writeAdapter(Adapter adapter) {
        try {
            Files.createDirectories(output);
            adapter.config().write(output);
            SafetensorsWriter.write(output.resolve(AdapterFolder.WEIGHTS_FILE), adapter.tensors().values());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the adapter to " + output, e);
        }
    }
}
