package org.flexllm.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;

/** Runs the command line in-process and captures what it prints; reads the shared test assets. */
final class Cli {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final Path SHARED = Path.of(System.getProperty("flexllm.shared", "../shared"));
    static final Path STORIES = SHARED.resolve("models/stories260K");

    private Cli() {}

    /** The exit status and the captured stdout and stderr of one run. */
    record Result(int exitCode, String out, String err) {
        /** Stdout as one JSON value. */
        JsonNode json() {
            return parse(out);
        }

        /** Stdout as one JSON value per line. */
        List<JsonNode> jsonLines() {
            return out.lines().map(Cli::parse).toList();
        }
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = FlexLlm.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    /**
     * Runs the command line in a child JVM on this JVM's class path, with {@code jvmOptions} besides the ones
     * the launcher passes; its output goes through files in {@code temp}.
     */
    static Result runInChildJvm(Path temp, List<String> jvmOptions, String... args) throws IOException,
            InterruptedException {
        return runInChildJvm(FlexLlm.class, temp, jvmOptions, args);
    }

    /** Runs {@code main} as {@link #runInChildJvm(Path, List, String...)} runs the command line. */
    static Result runInChildJvm(Class<?> main, Path temp, List<String> jvmOptions, String... args)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile(temp, "stdout", ".txt");
        Path err = Files.createTempFile(temp, "stderr", ".txt");
        Process child = startChildJvm(main, jvmOptions, out, err, args);
        if (!child.waitFor(CHILD_DEADLINE_S, TimeUnit.SECONDS)) {
            child.destroyForcibly();
            throw new AssertionError("the child JVM ran past " + CHILD_DEADLINE_S + " s: " + List.of(args));
        }
        return new Result(child.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** Starts the command line in a child JVM as {@link #runInChildJvm} does, its output into {@code out}, {@code err}. */
    static Process startChildJvm(List<String> jvmOptions, Path out, Path err, String... args) throws IOException {
        return startChildJvm(FlexLlm.class, jvmOptions, out, err, args);
    }

    /** Starts {@code main} in a child JVM as {@link #startChildJvm(List, Path, Path, String...)} starts the CLI. */
    static Process startChildJvm(Class<?> main, List<String> jvmOptions, Path out, Path err, String... args)
            throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss8m"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    }

    private static final long CHILD_DEADLINE_S = 300;

    static JsonNode parse(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON file of the shared assets. */
    static JsonNode json(Path file) {
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every line of a JSONL file of the shared assets. */
    static List<JsonNode> jsonLines(Path file) {
        try {
            return Files.readAllLines(file).stream().map(Cli::parse).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Ints of a JSON array, for comparing with {@code int[]}. */
    static List<Integer> ints(JsonNode array) {
        return array.valueStream().map(JsonNode::asInt).toList();
    }

    static String csv(List<Integer> ids) {
        return String.join(",", ids.stream().map(String::valueOf).toList());
    }
}
