package org.flexllm.peft.data;

import java.util.Arrays;
import java.util.List;

/** The JSONL layouts a finetuning dataset may have, one JSON object per line. */
public enum DatasetFormat {
    /** {@code {"messages": [{"role", "content"}, ...]}}: rendered by the chat template; assistant turns trained. */
    CHAT("messages"),
    /** {@code {"input_ids": [...], "labels": [...]}}: already tokenized; labels optional (then all trained). */
    TOKENS("input_ids"),
    /** {@code {"prompt", "completion"}}: only the completion is trained. */
    COMPLETION("prompt", "completion"),
    /** {@code {"text"}}: every token trained. */
    TEXT("text");

    private final List<String> fields;

    DatasetFormat(String... fields) {
        this.fields = List.of(fields);
    }

    /** The fields that identify the format (the first formats are tried first). */
    public List<String> fields() {
        return fields;
    }

    /**
     * The format of a line: the first whose identifying fields it has.
     *
     * @throws DatasetFormatException naming the line when it fits none
     */
    static DatasetFormat detect(JsonLine line) {
        return Arrays.stream(values())
                .filter(format -> format.fields.stream().allMatch(line.json()::has))
                .findFirst()
                .orElseThrow(() -> line.error("cannot tell the dataset format: the line has none of "
                        + Arrays.stream(values()).map(f -> f.fields.toString()).toList()));
    }
}
