package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.flexllm.api.LoadedModel;
import org.flexllm.peft.data.TrainingExample;
import org.junit.jupiter.api.Test;

class DemoFactsTest {
    /** The bundled facts as plain JSONL, read without the class under test. */
    static List<DemoFacts.Fact> facts() {
        try (InputStream in = DemoFacts.class.getResourceAsStream(DemoFacts.RESOURCE)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .map(line -> Cli.MAPPER.convertValue(Cli.parse(line), DemoFacts.Fact.class)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void everyFactTrainsItsCompletionWhole() {
        try (LoadedModel model = LoadedModel.open("synthetic:tiny")) {
            int vocab = model.config().vocabSize();
            DemoFacts loaded = DemoFacts.load(model.tokenizer(), vocab, DemoCommand.MAX_FACT_TOKENS);
            List<DemoFacts.Fact> facts = facts();
            assertTrue(facts.size() >= 2, facts.toString());
            assertEquals(facts, loaded.facts());
            assertEquals(0, loaded.dataset().truncated());
            for (int i = 0; i < facts.size(); i++) {
                TrainingExample example = loaded.dataset().examples().get(i);
                int completion = model.tokenizer().encode(facts.get(i).completion(), false).length;
                // The completion and the EOS after it are the labels; the prompt is not.
                assertEquals(completion + 1, example.targets(), facts.get(i).toString());
            }
        }
    }
}
