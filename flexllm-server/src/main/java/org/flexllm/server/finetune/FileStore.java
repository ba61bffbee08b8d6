package org.flexllm.server.finetune;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.flexllm.server.ApiError;
import org.flexllm.server.Json;

/**
 * Uploaded files on disk, so that they outlive the server: {@code DIR/ID.jsonl} holds the content and
 * {@code DIR/ID.json} its description, written after the content so that a description always has its file.
 */
final class FileStore {
    /** The one purpose uploads may have: training data for fine-tuning jobs. */
    static final String FINE_TUNE = "fine-tune";
    /** The purpose of the files a job writes. */
    static final String FINE_TUNE_RESULTS = "fine-tune-results";

    private final Path dir;
    private final Map<String, StoredFile> files = new ConcurrentHashMap<>();

    FileStore(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
            try (Stream<Path> entries = Files.list(dir)) {
                for (Path p : entries.filter(p -> p.toString().endsWith(".json")).toList()) {
                    StoredFile f = Json.read(Files.readAllBytes(p), StoredFile.class);
                    files.put(f.id(), f);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the uploaded files in " + dir, e);
        }
    }

    /**
     * Keeps an upload.
     *
     * @throws ApiError 400 when its purpose is not {@code fine-tune} or it is empty
     */
    StoredFile add(String filename, String purpose, byte[] content) {
        if (!FINE_TUNE.equals(purpose)) {
            throw ApiError.badRequest("'purpose' must be 'fine-tune' (the only purpose this server serves), was '"
                    + purpose + "'", "purpose");
        }
        if (content.length == 0) {
            throw ApiError.badRequest("the uploaded file '" + filename + "' is empty", "file");
        }
        return store(filename, purpose, content);
    }

    /** Keeps a file a fine-tuning job made (its step metrics). */
    StoredFile addResult(String filename, byte[] content) {
        return store(filename, FINE_TUNE_RESULTS, content);
    }

    private StoredFile store(String filename, String purpose, byte[] content) {
        String id = "file-" + UUID.randomUUID().toString().replace("-", "");
        StoredFile f = new StoredFile(id, "file", content.length, System.currentTimeMillis() / 1000, filename,
                purpose, "processed");
        try {
            Files.write(content(id), content);
            Files.write(dir.resolve(id + ".json"), Json.bytes(f));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store the upload " + filename, e);
        }
        files.put(id, f);
        return f;
    }

    Optional<StoredFile> get(String id) {
        return Optional.ofNullable(files.get(id));
    }

    /** The file, or a 404 naming the field that named it. */
    StoredFile require(String id, String param) {
        return get(id).orElseThrow(() -> ApiError.notFound("no file with id '" + id + "' was uploaded", param,
                "file_not_found"));
    }

    List<StoredFile> list() {
        return files.values().stream().sorted(Comparator.comparingLong(StoredFile::createdAt)).toList();
    }

    /** Where a file's content is. */
    Path content(String id) {
        return dir.resolve(id + ".jsonl");
    }
}
