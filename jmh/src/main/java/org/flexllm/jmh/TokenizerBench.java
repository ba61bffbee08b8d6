package org.flexllm.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.flexllm.tokenizer.StreamDecoder;
import org.flexllm.tokenizer.Tokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Llama 3 tokenizer speed on the golden corpus's 5,000-character paragraph ({@code long-00}). After the
 * first iteration the BPE word cache holds the paragraph's words, as it would in a long-running server.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class TokenizerBench {
    private Tokenizer tokenizer;
    private String paragraph;
    private int[] ids;

    @Setup
    public void setup() throws IOException {
        Path shared = Path.of(System.getProperty("flexllm.shared", "../shared"));
        tokenizer = Tokenizer.load(shared.resolve("tokenizers/llama3"));
        paragraph = longestCorpusText(shared.resolve("golden/tokenizer/corpus.jsonl"));
        ids = tokenizer.encode(paragraph, false);
    }

    @Benchmark
    public int[] encodeParagraph() {
        return tokenizer.encode(paragraph, false);
    }

    @Benchmark
    public String decodeParagraph() {
        return tokenizer.decode(ids, false);
    }

    @Benchmark
    public int streamParagraph() {
        StreamDecoder stream = tokenizer.streamDecoder(false);
        int length = 0;
        for (int id : ids) {
            length += stream.next(id).length();
        }
        return length + stream.flush().length();
    }

    private static String longestCorpusText(Path corpus) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        String longest = "";
        for (String line : Files.readAllLines(corpus)) {
            JsonNode text = mapper.readTree(line).get("text");
            if (text.textValue().length() > longest.length()) {
                longest = text.textValue();
            }
        }
        return longest;
    }
}
