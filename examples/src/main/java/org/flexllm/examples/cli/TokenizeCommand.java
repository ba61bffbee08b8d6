package org.flexllm.examples.cli;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.MappingIterator;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.flexllm.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code flexllm tokenize}: text to token ids, one line per text. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Encode text to token ids: one line per text, comma-separated ids or {\"ids\":[...]}.")
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--tokenizer", required = true, paramLabel = "PATH",
            description = "A tokenizer.json, or a folder holding one.")
    private Path tokenizer;

    @ArgGroup(multiplicity = "1")
    private Input input;

    @Option(names = "--no-special",
            description = "Add no special tokens (by default the tokenizer adds what it adds, e.g. BOS).")
    private boolean noSpecial;

    @Option(names = "--json", description = "Print {\"ids\":[...]} per text.")
    private boolean json;

    /** Where the texts come from: one on the command line, or a JSONL file of them. */
    static final class Input {
        @Option(names = "--text", required = true, description = "The text to encode.")
        String text;

        @Option(names = "--input", required = true, paramLabel = "FILE.jsonl",
                description = "One {\"text\": ...} object per line (other fields are ignored); answered in order.")
        Path file;
    }

    /** A line of the input file. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record TextLine(String text) {}

    /** A line of JSON output. */
    record Encoded(List<Integer> ids) {}

    @Override
    public Integer call() throws IOException {
        Tokenizer t = Tokenizer.load(tokenizer);
        PrintWriter out = spec.commandLine().getOut();
        if (input.text != null) {
            print(out, t.encode(input.text, !noSpecial));
        } else {
            try (MappingIterator<TextLine> lines = Json.values(input.file, TextLine.class)) {
                while (lines.hasNext()) {
                    print(out, t.encode(text(lines), !noSpecial));
                }
            }
        }
        out.flush();
        return 0;
    }

    private String text(MappingIterator<TextLine> lines) {
        TextLine line = lines.next();
        if (line.text() == null) {
            throw new IllegalArgumentException(input.file + " line " + lines.getCurrentLocation().getLineNr()
                    + " has no \"text\" field; each line must be an object like {\"text\": \"...\"}");
        }
        return line.text();
    }

    private void print(PrintWriter out, int[] ids) {
        out.println(json ? Json.line(new Encoded(Arrays.stream(ids).boxed().toList()))
                : Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(",")));
    }
}
