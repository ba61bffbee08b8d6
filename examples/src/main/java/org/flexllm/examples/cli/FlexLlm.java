package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.util.concurrent.CompletionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code flexllm} command line: {@code demo}, {@code generate}, {@code score}, {@code tokenize},
 * {@code detokenize}, {@code finetune}, {@code serve}, {@code bench}, {@code convert}, {@code explain} and
 * {@code info}. Errors print their message
 * to stderr and exit with status 1 (2 for a bad command line); {@code --verbose} adds the stack trace.
 */
@Command(name = "flexllm", mixinStandardHelpOptions = true, version = "flexllm 0.1.0-SNAPSHOT",
        description = "Serve LLaMA-family models on the CPU, in-process.",
        subcommands = {DemoCommand.class, GenerateCommand.class, ScoreCommand.class, TokenizeCommand.class,
                DetokenizeCommand.class, FinetuneCommand.class, ServeCommand.class, BenchCommand.class,
                ConvertCommand.class, ExplainCommand.class, InfoCommand.class})
public final class FlexLlm implements Runnable {
    @Spec
    private CommandSpec spec;

    @Option(names = "--verbose", scope = ScopeType.INHERIT, description = "Print the stack trace of an error.")
    private boolean verbose;

    public static void main(String[] args) {
        // Plots are drawn to files: never look for a display.
        System.setProperty("java.awt.headless", "true");
        System.exit(commandLine().execute(args));
    }

    /** The command line with its error handling; tests run it in-process with their own out and err. */
    public static CommandLine commandLine() {
        // Enum options read as the help spells them (--optimizer adamw, --format chat).
        return new CommandLine(new FlexLlm()).setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler(FlexLlm::reportError);
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command: name one of " + spec.subcommands().keySet());
    }

    private static int reportError(Exception e, CommandLine command, ParseResult parsed) {
        Throwable error = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        PrintWriter err = command.getErr();
        FlexLlm root = (FlexLlm) command.getCommandSpec().root().userObject();
        if (root.verbose) {
            error.printStackTrace(err);
        } else {
            String message = error.getMessage() != null ? error.getMessage() : error.toString();
            err.println("flexllm " + command.getCommandName() + ": " + message);
        }
        err.flush();
        return 1;
    }
}
