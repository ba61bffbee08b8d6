package org.flexllm.server.finetune;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.flexllm.FlexLlmException;
import org.flexllm.api.LlmEngine;
import org.flexllm.peft.data.DatasetReader;
import org.flexllm.peft.data.TrainingExample;
import org.flexllm.peft.train.FinetuneJob;
import org.flexllm.peft.train.FinetuneOptions;
import org.flexllm.peft.train.Finetuner;
import org.flexllm.peft.train.SavedCheckpoint;
import org.flexllm.peft.train.StepRecord;
import org.flexllm.server.ApiError;
import org.flexllm.server.Fields;
import org.flexllm.server.Models;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenAI's fine-tuning API over co-serving: each job trains a LoRA adapter inside the serving engine's iterations
 * (on what the requests leave), and when it succeeds its adapter is registered under the job's
 * {@code fine_tuned_model} name, which requests may name at once. Uploaded files, jobs, their events and
 * checkpoints live in a state folder; a server started on it again serves the succeeded jobs' models and resumes
 * the jobs that were running from their last checkpoint (one per epoch), with the same data order. A job's
 * validation file is scored by the engine at each epoch's checkpoint and on the final adapter ({@link Validation}).
 */
public final class FineTuning implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FineTuning.class);

    private final LlmEngine engine;
    private final Models models;
    private final int maxSeqLen;
    private final FileStore files;
    private final Path jobsDir;
    private final Map<String, JobState> jobs = new ConcurrentHashMap<>();
    private final Map<String, Running> running = new ConcurrentHashMap<>();
    private final Map<String, List<JobEvent>> events = new ConcurrentHashMap<>();
    /** Writes events and states in order, off the engine thread that reports steps. */
    private final ExecutorService writer = Executors.newSingleThreadExecutor(Thread.ofVirtual().factory());
    /** Scores validation files, one checkpoint at a time, in the order the checkpoints were written. */
    private final ExecutorService validator = Executors.newSingleThreadExecutor(Thread.ofVirtual().factory());
    private volatile boolean closing;

    /** A job under way, and what completes once its end is recorded (state and events written). */
    private record Running(FinetuneJob job, CompletableFuture<Void> recorded) {}

    private FineTuning(Path stateDir, LlmEngine engine, Models models, int maxSeqLen) {
        this.engine = engine;
        this.models = models;
        this.maxSeqLen = maxSeqLen;
        this.files = new FileStore(stateDir.resolve("files"));
        this.jobsDir = stateDir.resolve("jobs");
    }

    /**
     * Opens the state folder: its files and jobs, the succeeded jobs' adapters registered under their names.
     * Running jobs resume on {@link #resumeJobs}.
     */
    public static FineTuning open(Path stateDir, LlmEngine engine, Models models, int maxSeqLen) {
        FineTuning f = new FineTuning(stateDir, engine, models, maxSeqLen);
        try {
            Files.createDirectories(f.jobsDir);
            try (Stream<Path> dirs = Files.list(f.jobsDir)) {
                for (Path dir : dirs.filter(d -> Files.exists(d.resolve("job.json"))).toList()) {
                    JobFolder folder = new JobFolder(dir);
                    JobState job = folder.read();
                    f.jobs.put(job.id(), job);
                    f.events.put(job.id(), new ArrayList<>(folder.events()));
                    if (JobState.SUCCEEDED.equals(job.status())) {
                        models.registry().register(job.fineTunedModel(), folder.adapter());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the fine-tuning jobs in " + f.jobsDir, e);
        }
        return f;
    }

    /** Starts again, from their last checkpoints, the jobs a previous server left running. */
    public void resumeJobs() {
        for (JobState job : jobs.values()) {
            if (job.isRunning()) {
                LOG.info("resuming fine-tuning job {}", job.id());
                try {
                    start(job, true);
                } catch (RuntimeException e) {
                    fail(job.id(), e);
                }
            }
        }
    }

    /** {@code POST /v1/files}. */
    StoredFile upload(String filename, String purpose, byte[] content) {
        return files.add(filename, purpose, content);
    }

    List<StoredFile> files() {
        return files.list();
    }

    StoredFile file(String id) {
        return files.require(id, "file_id");
    }

    /** {@code GET /v1/files/{id}/content}: what was uploaded, or a job's result file. */
    byte[] fileContent(String id) {
        file(id);
        try {
            return Files.readAllBytes(files.content(id));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read file " + id, e);
        }
    }

    /**
     * {@code POST /v1/fine_tuning/jobs}: checks the request and its data, then starts the job.
     *
     * @throws ApiError 400 for a bad setting or data file, 404 for an unknown model or file
     */
    public JobState create(Fields request) {
        JobSpec spec = JobSpec.read(request);
        if (!spec.model().equals(models.baseName())) {
            throw ApiError.notFound("fine-tuning starts from the base model '" + models.baseName() + "', not '"
                    + spec.model() + "'", "model", "model_not_found");
        }
        files.require(spec.trainingFile(), "training_file");
        if (spec.validationFile() != null) {
            files.require(spec.validationFile(), "validation_file");
        }
        String id = "ftjob-" + UUID.randomUUID().toString().replace("-", "").substring(0, 24);
        String name = "ft:" + models.baseName() + ":" + (spec.suffix() != null ? spec.suffix() + ":" : "") + id;
        JobState job = new JobState(id, System.currentTimeMillis() / 1000, spec, JobState.RUNNING, name, null, null,
                null, null);
        JobFolder.create(jobsDir.resolve(id)).write(job);
        jobs.put(id, job);
        events.put(id, new ArrayList<>());
        record(id, e -> JobEvent.message(e, "info", "Fine-tuning job started")); // before its first step's
        try {
            start(job, false);
        } catch (ApiError e) {
            forget(id);
            throw e;
        }
        return job;
    }

    /** Every job, newest first. */
    public List<JobState> list() {
        return jobs.values().stream().sorted(Comparator.comparingLong(JobState::createdAt).reversed()
                .thenComparing(JobState::id)).toList();
    }

    /** A job; a 404 when there is none of that id. */
    public JobState get(String id) {
        JobState job = jobs.get(id);
        if (job == null) {
            throw ApiError.notFound("no fine-tuning job with id '" + id + "'", "fine_tuning_job_id", "job_not_found");
        }
        return job;
    }

    /** The job's events, newest first. */
    public List<JobEvent> events(String id) {
        get(id);
        return eventsOf(id).reversed();
    }

    /** A job's events so far, oldest first. */
    private List<JobEvent> eventsOf(String id) {
        List<JobEvent> list = events.get(id);
        synchronized (list) {
            return List.copyOf(list);
        }
    }

    List<CheckpointView> checkpoints(String id) {
        return new JobFolder(jobsDir.resolve(id)).checkpoints(get(id), validations(id));
    }

    /** The validation metrics recorded so far, by step. */
    private Map<Integer, Map<String, Object>> validations(String id) {
        return eventsOf(id).stream().filter(JobEvent::isValidation)
                .collect(Collectors.toMap(JobEvent::step, JobEvent::data, (a, b) -> b));
    }

    /**
     * {@code POST .../cancel}: the job stops before its next sample and keeps a checkpoint of its last step.
     *
     * @throws ApiError 400 when it has ended already
     */
    public JobState cancel(String id) {
        JobState job = get(id);
        Running run = running.get(id);
        if (!job.isRunning() || run == null) {
            throw ApiError.badRequest("job " + id + " has " + job.status() + " already", "fine_tuning_job_id");
        }
        run.job().cancel();
        run.recorded().join();
        return jobs.get(id);
    }

    /**
     * Stops the running jobs for a restart: each writes a checkpoint of its last step and stays {@code running}
     * on disk, so the next server on this state folder resumes it.
     */
    @Override
    public void close() {
        closing = true;
        validator.close(); // a validation under way stops after its current batch
        for (Running run : running.values()) {
            try {
                run.job().close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        writer.close();
    }

    private void start(JobState job, boolean resume) {
        JobSpec spec = job.spec();
        List<TrainingExample> data = read(spec.trainingFile(), "training_file");
        List<TrainingExample> validation = spec.validationFile() == null ? List.of()
                : Validation.checked(read(spec.validationFile(), "validation_file"), spec.validationFile());
        // A checkpoint per epoch, as OpenAI keeps: what a restarted server resumes from.
        int perEpoch = Math.max(1, Math.ceilDiv(data.size(), spec.batchSize()));
        FinetuneOptions options = spec.options(maxSeqLen, perEpoch);
        int lastStep = events.get(job.id()).stream().mapToInt(JobEvent::step).max().orElse(0);
        int total = options.totalSteps(data.size());
        // The final adapter is validated when the job ends (ended), the other checkpoints once on disk.
        Consumer<SavedCheckpoint> validateCheckpoint = c -> {
            if (!validation.isEmpty() && c.step() % perEpoch == 0 && c.step() < total) {
                validateLater(job, c, total, validation);
            }
        };
        FinetuneJob run;
        try {
            run = Finetuner.builder().data(data).options(options).output(adapterDir(job.id()))
                    .resume(resume).coServe(engine, models.registry()).name(job.id())
                    .onStep(s -> onStep(job.id(), s, lastStep)).onCheckpoint(validateCheckpoint).start();
        } catch (FlexLlmException | IllegalArgumentException e) {
            throw ApiError.badRequest("cannot start the job: " + e.getMessage(), null);
        }
        if (resume) {
            // A server stopped between writing a checkpoint and scoring it left it unscored.
            Set<Integer> scored = validations(job.id()).keySet();
            new JobFolder(jobsDir.resolve(job.id())).checkpoints(job, Map.of()).stream()
                    .filter(c -> !scored.contains(c.stepNumber()))
                    .forEach(c -> validateCheckpoint.accept(new SavedCheckpoint(c.stepNumber(),
                            JobFolder.checkpointAdapter(adapterDir(job.id()), c.stepNumber()))));
        }
        CompletableFuture<Void> recorded = new CompletableFuture<>();
        running.put(job.id(), new Running(run, recorded));
        run.result().whenComplete((result, error) -> writer.submit(() -> {
            try {
                ended(job.id(), run, validation, error);
            } finally {
                recorded.complete(null);
            }
        }));
    }

    /** The examples of an uploaded file, read as the training data is; a 400 naming {@code param} if it cannot be. */
    private List<TrainingExample> read(String file, String param) {
        try {
            return DatasetReader.of(engine.tokenizer(), engine.config().vocabSize(), maxSeqLen)
                    .read(files.content(file)).examples();
        } catch (FlexLlmException | UncheckedIOException e) {
            throw ApiError.badRequest(param.replace('_', ' ') + " " + file + " cannot be used: " + e.getMessage(),
                    param);
        }
    }

    /** Scores a checkpoint's adapter on the validation examples, served for the time under its checkpoint name. */
    private void validateLater(JobState job, SavedCheckpoint checkpoint, int total, List<TrainingExample> validation) {
        validator.submit(() -> {
            int step = checkpoint.step();
            String name = JobFolder.checkpointModel(job, step);
            try {
                models.registry().register(name, checkpoint.adapter());
            } catch (RuntimeException e) {
                recordValidationFailure(job.id(), step, e);
                return;
            }
            try {
                validate(job.id(), step, total, name, validation);
            } finally {
                models.registry().unregister(name);
            }
        });
    }

    /** Scores the validation examples under the adapter {@code served} and records the step's validation event. */
    private void validate(String id, int step, int total, String served, List<TrainingExample> validation) {
        try {
            Validation v = Validation.score(engine, served, validation, () -> closing);
            record(id, e -> JobEvent.validation(e, step, total, v.loss(), v.meanTokenAccuracy()));
        } catch (RuntimeException e) {
            recordValidationFailure(id, step, e);
        }
    }

    private void recordValidationFailure(String id, int step, RuntimeException e) {
        if (!closing) {
            LOG.warn("validating job {} at step {} failed", id, step, e);
            record(id, ev -> JobEvent.message(ev, "warn", "Validation at step " + step + " failed: " + e.getMessage()));
        }
    }

    private void onStep(String id, StepRecord step, int alreadyRecorded) {
        // Steps after the checkpoint a job resumed from are run again, identically: record each step once.
        if (step.step() > alreadyRecorded) {
            Running run = running.get(id);
            int total = run == null ? 0 : run.job().totalSteps();
            record(id, e -> JobEvent.step(e, step.step(), total, step.loss()));
        }
    }

    private void ended(String id, FinetuneJob run, List<TrainingExample> validation, Throwable error) {
        running.remove(id);
        JobState job = jobs.get(id);
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof CancellationException && closing) {
            return; // stopped for a restart: stays running on disk, to be resumed
        }
        if (cause == null) {
            try {
                models.registry().register(job.fineTunedModel(), adapterDir(id));
            } catch (RuntimeException e) {
                fail(id, e);
                return;
            }
            if (!validation.isEmpty()) {
                int total = run.totalSteps();
                awaitValidation(() -> validate(id, total, total, job.fineTunedModel(), validation));
            }
            long tokens = run.history().stream().mapToLong(StepRecord::tokens).sum();
            StoredFile results = files.addResult("step_metrics.csv", StepMetrics.csv(eventsOf(id)));
            save(job.ended(JobState.SUCCEEDED, null, tokens, List.of(results.id())));
            record(id, e -> JobEvent.message(e, "info", "New fine-tuned model created: " + job.fineTunedModel()));
            record(id, e -> JobEvent.message(e, "info", "The job has successfully completed"));
        } else if (cause instanceof CancellationException) {
            save(job.ended(JobState.CANCELLED, null, null, null));
            record(id, e -> JobEvent.message(e, "info", "The job was cancelled"));
        } else {
            fail(id, cause);
        }
    }

    /** Runs the final validation after the checkpoints' (the validator's queue is in step order) and waits for it. */
    private void awaitValidation(Runnable validation) {
        try {
            validator.submit(validation).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | RejectedExecutionException e) {
            LOG.warn("the final validation did not run", e);
        }
    }

    private void fail(String id, Throwable cause) {
        LOG.warn("fine-tuning job {} failed", id, cause);
        String message = cause.getMessage() != null ? cause.getMessage() : cause.toString();
        save(jobs.get(id).ended(JobState.FAILED, new JobState.Error("training_failed", message, null), null, null));
        record(id, e -> JobEvent.message(e, "error", "The job failed: " + message));
    }

    private void save(JobState job) {
        jobs.put(job.id(), job);
        new JobFolder(jobsDir.resolve(job.id())).write(job);
    }

    /**
     * Adds an event, made with the next id, and appends it to the job's file in the same order: steps come from the
     * engine thread, endings from the writer, both through here.
     */
    private void record(String id, java.util.function.Function<String, JobEvent> event) {
        List<JobEvent> list = events.get(id);
        synchronized (list) {
            JobEvent e = event.apply("ftevent-" + id.substring("ftjob-".length()) + "-" + list.size());
            list.add(e);
            writer.submit(() -> new JobFolder(jobsDir.resolve(id)).append(e));
        }
    }

    private void forget(String id) {
        jobs.remove(id);
        events.remove(id);
        Path dir = jobsDir.resolve(id);
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            LOG.warn("cannot remove the folder of job {}, which did not start", id, e);
        }
    }

    private Path adapterDir(String id) {
        return new JobFolder(jobsDir.resolve(id)).adapter();
    }
}
