package org.flexllm.peft.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.flexllm.FlexLlmException;
import org.flexllm.peft.Golden;
import org.flexllm.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetReaderTest {
    private static final int VOCAB = 256;
    private static Tokenizer mistral;
    private static Tokenizer llama3;

    @TempDir
    Path dir;

    @BeforeAll
    static void loadTokenizers() {
        mistral = Golden.tokenizer("mistral");
        llama3 = Golden.tokenizer("llama3");
    }

    @Test
    void textIsTrainedWholeWithThePostProcessorsBosAndTheEos() throws IOException {
        TrainingExample example = readOne(mistral, "{\"text\": \"Once upon a time\"}");
        int[] expected = append(mistral.encode("Once upon a time", true), mistral.eosId().orElseThrow());
        assertEquals(mistral.bosId().orElseThrow(), expected[0], "Mistral's post-processor adds BOS");
        assertArrayEquals(expected, example.inputIds());
        assertArrayEquals(expected, example.labels());
        assertEquals(expected.length - 1, example.targets());
    }

    @Test
    void llama3TextGetsNoBosFromItsByteLevelPostProcessor() throws IOException {
        TrainingExample example = readOne(llama3, "{\"text\": \"Hello world\"}");
        assertArrayEquals(append(llama3.encode("Hello world", false), llama3.eosId().orElseThrow()),
                example.inputIds());
    }

    @Test
    void completionTrainsOnlyTheCompletionAndItsEos() throws IOException {
        TrainingExample example = readOne(mistral, "{\"prompt\": \"2 + 2 =\", \"completion\": \" 4\"}");
        int[] prompt = mistral.encode("2 + 2 =", true);
        int[] completion = append(mistral.encode(" 4", false), mistral.eosId().orElseThrow());
        assertArrayEquals(concat(prompt, completion), example.inputIds());
        int[] labels = example.labels();
        assertTrue(Arrays.stream(labels, 0, prompt.length).allMatch(l -> l == TrainingExample.IGNORE));
        assertArrayEquals(completion, Arrays.copyOfRange(labels, prompt.length, labels.length));
    }

    @Test
    void tokensNeedNoTokenizerAndLabelsDefaultToTheInputs() throws IOException {
        Path file = write("{\"input_ids\": [1, 2, 3]}\n{\"input_ids\": [4, 5, 6], \"labels\": [-100, 5, 6]}\n");
        Dataset dataset = DatasetReader.tokensOnly(VOCAB, 16).read(file);
        assertEquals(TrainingExample.allTrained(new int[] {1, 2, 3}), dataset.examples().get(0));
        assertEquals(new TrainingExample(new int[] {4, 5, 6}, new int[] {-100, 5, 6}), dataset.examples().get(1));
        assertEquals(4, dataset.targets());
    }

    @Test
    void longSequencesAreTruncatedAndCounted() throws IOException {
        Path file = write("{\"input_ids\": [1, 2, 3, 4, 5, 6]}\n{\"input_ids\": [7, 8]}\n");
        Dataset dataset = DatasetReader.tokensOnly(VOCAB, 4).read(file);
        assertEquals(1, dataset.truncated());
        assertArrayEquals(new int[] {1, 2, 3, 4}, dataset.examples().get(0).inputIds());
        assertEquals(2, dataset.examples().size(), "nothing dropped");
    }

    @Test
    void theFormatOfTheFirstLineHoldsForTheWholeFile() throws IOException {
        Path file = write("{\"input_ids\": [1, 2]}\n\n{\"text\": \"hi\"}\n");
        assertLineError(file, ":3: missing field 'input_ids'");
        Path given = write("{\"input_ids\": [1, 2]}\n");
        var e = assertThrows(DatasetFormatException.class,
                () -> DatasetReader.of(mistral, 32000, 16).read(given, DatasetFormat.TEXT));
        assertTrue(e.getMessage().contains(":1: missing field 'text'"), e.getMessage());
    }

    @Test
    void malformedLinesNameTheFileLineAndProblem() throws IOException {
        assertLineError(write("{\"input_ids\": [1, 2]}\n{\"input_ids\": [1, 2\n"), ":2: not valid JSON");
        assertLineError(write("{\"input_ids\": [1, \"x\"]}\n"), ":1: 'input_ids'[1] = \"x\" is not an integer");
        assertLineError(write("{\"input_ids\": 3}\n"), ":1: 'input_ids' must be an array, not number");
        assertLineError(write("{\"input_ids\": [1, 256]}\n"), ":1: token id 256 at position 1 is outside");
        assertLineError(write("{\"input_ids\": [1, 2], \"labels\": [-5, 2]}\n"), ":1: label -5 at position 0");
        assertLineError(write("{\"input_ids\": [1, 2], \"labels\": [2]}\n"), ":1: 'labels' has 1 entries");
        assertLineError(write("{\"answer\": 42}\n"), ":1: cannot tell the dataset format");
        assertLineError(write("[1, 2]\n"), ":1: not a JSON object");
        var e = assertThrows(DatasetFormatException.class,
                () -> DatasetReader.of(mistral, 32000, 16).read(write("{\"text\": 5}\n")));
        assertTrue(e.getMessage().contains(":1: 'text' must be a string, not number"), e.getMessage());
    }

    @Test
    void aFileWithNothingToTrainIsRefused() throws IOException {
        DatasetReader reader = DatasetReader.tokensOnly(VOCAB, 16);
        FlexLlmException e = assertThrows(EmptyDatasetException.class, () -> reader.read(write("\n  \n")));
        assertTrue(e.getMessage().contains("no examples"), e.getMessage());
        e = assertThrows(EmptyDatasetException.class,
                () -> reader.read(write("{\"input_ids\": [1, 2], \"labels\": [1, -100]}\n")));
        assertTrue(e.getMessage().contains("none of the 1 examples has a trained label"), e.getMessage());
    }

    @Test
    void aHeldOutSplitIsDisjointCompleteAndSeeded() throws IOException {
        StringBuilder lines = new StringBuilder();
        IntStream.range(0, 10).forEach(i -> lines.append("{\"input_ids\": [").append(i).append(", 1]}\n"));
        Dataset dataset = DatasetReader.tokensOnly(VOCAB, 16).read(write(lines.toString()));
        Dataset.Split split = dataset.split(0.2, 5);
        assertEquals(8, split.train().size());
        assertEquals(2, split.eval().size());
        assertTrue(split.eval().stream().noneMatch(split.train()::contains), "disjoint");
        assertEquals(10, split.train().stream().distinct().count() + split.eval().stream().distinct().count());
        assertEquals(split, dataset.split(0.2, 5), "a pure function of the seed");
        assertNotEquals(split.eval(), dataset.split(0.2, 6).eval());
        assertThrows(EmptyDatasetException.class, () -> new Dataset(dataset.examples().subList(0, 1), 0).split(0.5, 1));
    }

    private void assertLineError(Path file, String expected) {
        var e = assertThrows(DatasetFormatException.class, () -> DatasetReader.tokensOnly(VOCAB, 16).read(file));
        assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(expected), e.getMessage());
    }

    private TrainingExample readOne(Tokenizer tokenizer, String line) throws IOException {
        Dataset dataset = DatasetReader.of(tokenizer, tokenizer.vocabSize(), 1024).read(write(line + "\n"));
        assertEquals(1, dataset.examples().size());
        return dataset.examples().getFirst();
    }

    private Path write(String text) throws IOException {
        Path file = Files.createTempFile(dir, "data", ".jsonl");
        Files.writeString(file, text);
        return file;
    }

    private static int[] append(int[] ids, int id) {
        return concat(ids, new int[] {id});
    }

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(Arrays.stream(a), Arrays.stream(b)).toArray();
    }
}
