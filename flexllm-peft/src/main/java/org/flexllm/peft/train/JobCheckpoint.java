package org.flexllm.peft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.io.SafetensorsWriter;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AtomicFiles;
import org.flexllm.peft.format.AdapterFolder;
import org.flexllm.peft.optim.Optimizer;
import org.flexllm.tensor.Tensor;

/**
 * A job's checkpoints, HF Trainer style: {@code OUT/checkpoint-N/} holds the adapter after step N (PEFT's two
 * files), the optimizer's state ({@code optimizer.safetensors}) and {@code trainer_state.json}. Each is
 * assembled in a temporary folder and renamed into place, so a checkpoint folder is complete or absent.
 */
final class JobCheckpoint {
    static final String ADAPTER_DIR = "adapter";
    static final String OPTIMIZER_FILE = "optimizer.safetensors";
    static final String STATE_FILE = "trainer_state.json";
    private static final String PREFIX = "checkpoint-";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a resumed job continues from. */
    record TrainerState(int step, long optimizerSteps, long seed, List<StepRecord> history) {}

    private JobCheckpoint() {}

    /**
     * Writes {@code OUT/checkpoint-STEP}, replacing one of the same step.
     *
     * @param optimizerState the optimizer's state as {@link Optimizer#state()} exports it
     */
    static void write(Path out, int step, Adapter adapter, Collection<Tensor> optimizerState, TrainerState state) {
        Path target = folder(out, step);
        Path staged = AtomicFiles.temporarySibling(target);
        try {
            Files.createDirectories(out);
            Files.createDirectories(staged);
            AdapterFolder.write(staged.resolve(ADAPTER_DIR), adapter);
            SafetensorsWriter.write(staged.resolve(OPTIMIZER_FILE), optimizerState);
            Files.write(staged.resolve(STATE_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(state));
            AtomicFiles.forceDirectory(staged);
            replace(target, staged);
            AtomicFiles.forceDirectory(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + target, e);
        }
    }

    /**
     * Renames {@code staged} to {@code target}. A checkpoint of the same step may be there already: the one a
     * job resumed from, the one written just before a cancel, or one left by an earlier job in the same folder;
     * it is renamed aside first and then deleted.
     */
    private static void replace(Path target, Path staged) throws IOException {
        if (!Files.exists(target)) {
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            return;
        }
        Path old = AtomicFiles.temporarySibling(target);
        Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        try (Stream<Path> files = Files.walk(old)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Where the checkpoint of {@code step} goes: {@code OUT/checkpoint-STEP}. */
    static Path folder(Path out, int step) {
        return out.resolve(PREFIX + step);
    }

    /** The checkpoint with the highest step in {@code out}, if any. */
    static Optional<Path> latest(Path out) {
        if (!Files.isDirectory(out)) {
            return Optional.empty();
        }
        try (Stream<Path> entries = Files.list(out)) {
            return entries.filter(p -> p.getFileName().toString().matches(PREFIX + "\\d+"))
                    .max(Comparator.comparingInt(JobCheckpoint::stepOf));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + out, e);
        }
    }

    static int stepOf(Path checkpoint) {
        return Integer.parseInt(checkpoint.getFileName().toString().substring(PREFIX.length()));
    }

    static TrainerState readState(Path checkpoint) {
        try {
            return JSON.readValue(checkpoint.resolve(STATE_FILE).toFile(), TrainerState.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + checkpoint.resolve(STATE_FILE), e);
        }
    }

    /** Loads the optimizer's state (moments, momentum buffers) saved with a checkpoint. */
    static void restoreOptimizer(Path checkpoint, Optimizer optimizer, long steps) {
        try (Arena arena = Arena.ofConfined()) {
            optimizer.load(SafetensorsFile.open(checkpoint.resolve(OPTIMIZER_FILE), arena).tensors(), steps);
        }
    }
}
