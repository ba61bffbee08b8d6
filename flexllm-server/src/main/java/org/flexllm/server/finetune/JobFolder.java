package org.flexllm.server.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.flexllm.server.Json;

/**
 * A job's folder: {@code job.json} (its {@link JobState}, replaced atomically), {@code events.jsonl} (appended) and
 * {@code adapter/} (the adapter and its {@code checkpoint-N} folders, written by the finetuning job).
 *
 * @param dir the folder
 */
record JobFolder(Path dir) {
    private static final String CHECKPOINT = "checkpoint-";

    static JobFolder create(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
        return new JobFolder(dir);
    }

    Path adapter() {
        return dir.resolve("adapter");
    }

    JobState read() {
        try {
            return Json.read(Files.readAllBytes(dir.resolve("job.json")), JobState.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + dir.resolve("job.json"), e);
        }
    }

    void write(JobState state) {
        Path target = dir.resolve("job.json");
        Path staged = dir.resolve("job.json.tmp");
        try {
            Files.write(staged, Json.bytes(state));
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target, e);
        }
    }

    void append(JobEvent event) {
        try {
            Files.writeString(dir.resolve("events.jsonl"), Json.string(event) + "\n", StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the events of " + dir, e);
        }
    }

    List<JobEvent> events() {
        Path file = dir.resolve("events.jsonl");
        List<JobEvent> events = new ArrayList<>();
        if (!Files.exists(file)) {
            return events;
        }
        try {
            for (String line : Files.readAllLines(file)) {
                // A line cut short by a crash mid-write is dropped; the ones before it stand.
                if (line.endsWith("}")) {
                    events.add(Json.read(line.getBytes(java.nio.charset.StandardCharsets.UTF_8), JobEvent.class));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return events;
    }

    /** The adapter folder of the checkpoint of {@code step} in a job's {@code adapter} folder. */
    static Path checkpointAdapter(Path adapter, int step) {
        return adapter.resolve(CHECKPOINT + step).resolve("adapter");
    }

    /** The name OpenAI gives a checkpoint's model, under which its adapter is served while it is validated. */
    static String checkpointModel(JobState job, int step) {
        return job.fineTunedModel() + ":ckpt-step-" + step;
    }

    /**
     * The job's checkpoints, oldest first, with each step's loss from its trainer state and its validation
     * metrics from {@code validations} (by step), where they are known.
     */
    List<CheckpointView> checkpoints(JobState job, Map<Integer, Map<String, Object>> validations) {
        if (!Files.isDirectory(adapter())) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(adapter())) {
            List<Path> folders = entries.filter(p -> p.getFileName().toString().matches(CHECKPOINT + "\\d+"))
                    .sorted(Comparator.comparingInt(JobFolder::step)).toList();
            List<CheckpointView> out = new ArrayList<>();
            for (Path p : folders) {
                int step = step(p);
                Map<String, Object> metrics = new TreeMap<>(validations.getOrDefault(step, Map.of()));
                metrics.remove("total_steps");
                metrics.put("step", step);
                metrics.put("train_loss", loss(p, step));
                out.add(new CheckpointView("ftckpt-" + job.id() + "-" + step, "fine_tuning.job.checkpoint",
                        Files.getLastModifiedTime(p).toMillis() / 1000, checkpointModel(job, step), step, metrics,
                        job.id()));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the checkpoints in " + adapter(), e);
        }
    }

    private static int step(Path checkpoint) {
        return Integer.parseInt(checkpoint.getFileName().toString().substring(CHECKPOINT.length()));
    }

    /** The step's loss from the checkpoint's {@code trainer_state.json} history, or NaN when not there. */
    private static double loss(Path checkpoint, int step) throws IOException {
        JsonNode state = Json.MAPPER.readTree(checkpoint.resolve("trainer_state.json").toFile());
        for (JsonNode record : state.path("history")) {
            if (record.path("step").asInt() == step) {
                return record.path("loss").asDouble();
            }
        }
        return Double.NaN;
    }
}
