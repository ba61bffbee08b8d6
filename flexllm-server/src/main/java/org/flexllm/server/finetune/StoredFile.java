package org.flexllm.server.finetune;

/**
 * An uploaded file as OpenAI's files API describes it.
 *
 * @param id        {@code file-...}
 * @param object    {@code file}
 * @param bytes     its size
 * @param createdAt seconds since the epoch
 * @param filename  the name the client gave it
 * @param purpose   {@code fine-tune}, or {@code fine-tune-results} for a job's result file
 * @param status    {@code processed}: a file is checked when a job reads it
 */
public record StoredFile(String id, String object, long bytes, long createdAt, String filename, String purpose,
                         String status) {}
