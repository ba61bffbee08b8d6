package org.flexllm.examples.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.flexllm.peft.data.Dataset;
import org.flexllm.peft.data.DatasetFormat;
import org.flexllm.peft.data.DatasetReader;
import org.flexllm.tokenizer.Tokenizer;

/**
 * The demo's training set: made-up facts that a random-weight model cannot know, bundled in the jar as a JSONL
 * file of {@code {"prompt", "completion"}} lines, the completion format {@code flexllm finetune} reads.
 *
 * @param facts   the facts in file order
 * @param dataset the same lines encoded for training: the completion and EOS are trained, the prompt is not
 */
record DemoFacts(List<Fact> facts, Dataset dataset) {
    /** Where the facts are on the class path. */
    static final String RESOURCE = "demo-facts.jsonl";

    /** One fact: a prompt and the completion the adapter is to learn. */
    record Fact(String prompt, String completion) {}

    /**
     * Reads the bundled facts. {@link DatasetReader} reads files, so the resource goes through a temporary copy.
     *
     * @param maxLength the training sequence-length limit
     */
    static DemoFacts load(Tokenizer tokenizer, int vocabSize, int maxLength) {
        try {
            Path copy = Files.createTempFile("flexllm-demo-facts", ".jsonl");
            try (InputStream in = DemoFacts.class.getResourceAsStream(RESOURCE)) {
                Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
                List<Fact> facts = Json.values(copy, Fact.class).readAll();
                Dataset dataset = DatasetReader.of(tokenizer, vocabSize, maxLength)
                        .read(copy, DatasetFormat.COMPLETION);
                return new DemoFacts(List.copyOf(facts), dataset);
            } finally {
                Files.delete(copy);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the bundled " + RESOURCE, e);
        }
    }
}
