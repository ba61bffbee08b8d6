package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.flexllm.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code flexllm detokenize}: token ids to text. */
@Command(name = "detokenize", mixinStandardHelpOptions = true,
        description = "Decode token ids to text, printed as is or as {\"text\":\"...\"}.")
final class DetokenizeCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--tokenizer", required = true, paramLabel = "PATH",
            description = "A tokenizer.json, or a folder holding one.")
    private Path tokenizer;

    @Option(names = "--ids", required = true, split = ",", paramLabel = "ID",
            description = "Token ids, e.g. 1,403,407.")
    private int[] ids;

    @Option(names = "--skip-special", description = "Leave special tokens (BOS, EOS, ...) out of the text.")
    private boolean skipSpecial;

    @Option(names = "--json", description = "Print {\"text\":\"...\"}.")
    private boolean json;

    /** The JSON output. */
    record Decoded(String text) {}

    @Override
    public Integer call() {
        String text = Tokenizer.load(tokenizer).decode(ids, skipSpecial);
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? Json.line(new Decoded(text)) : text);
        out.flush();
        return 0;
    }
}
