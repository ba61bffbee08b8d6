package org.flexllm;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Support for the fuzz targets ({@code @FuzzTest}): the parsers under test read files, so each input is written
 * to a scratch folder first, and the only outcomes a target accepts are a result or the library's typed
 * exception.
 */
public final class FuzzInputs {
    private static final Path SCRATCH = createScratch();
    /** Far above what any parser needs for the inputs fuzzing makes (at most 64 KiB), far below a size field's 2³¹. */
    static final long MAX_ALLOCATED_BYTES = 512L << 20;
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private FuzzInputs() {}

    /** {@code bytes} as the file {@code name} in a scratch folder of this JVM, replacing the previous input. */
    public static Path file(String name, byte[] bytes) {
        return write(SCRATCH.resolve(name), bytes);
    }

    /**
     * The scratch folder {@code name} holding exactly {@code files} (name to content), replacing what it held, for
     * parsers that read a folder (a tokenizer beside its config, an adapter's config beside its weights).
     */
    public static Path folder(String name, Map<String, byte[]> files) {
        Path folder = SCRATCH.resolve(name);
        try {
            Files.createDirectories(folder);
            try (var old = Files.list(folder)) {
                for (Path p : old.toList()) {
                    Files.delete(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        files.forEach((file, bytes) -> write(folder.resolve(file), bytes));
        return folder;
    }

    /**
     * Runs {@code parse}; returns its result, or null when it threw {@code typed} (the library's exception for
     * bad input). Anything else it throws, errors included, propagates and so is a finding; so is a parse that
     * allocates more than {@value #MAX_ALLOCATED_BYTES} bytes on the heap, whatever its outcome: an input of at most
     * kilobytes that makes the parser allocate that much has a size field the parser trusted before checking it.
     */
    public static <T> T resultOr(Class<? extends RuntimeException> typed, Supplier<T> parse) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        try {
            return outcome(typed, parse);
        } finally {
            checkAllocation(THREADS.getCurrentThreadAllocatedBytes() - before, typed, parse);
        }
    }

    private static <T> T outcome(Class<? extends RuntimeException> typed, Supplier<T> parse) {
        try {
            return parse.get();
        } catch (RuntimeException e) {
            if (typed.isInstance(e)) {
                return null;
            }
            throw e;
        }
    }

    /**
     * Loading the parser's classes on first use (and Jazzer instrumenting them) allocates on this thread too, so a
     * run over the limit counts only if a second run of the same input, with everything loaded, is over it as well.
     */
    private static void checkAllocation(long allocated, Class<? extends RuntimeException> typed, Supplier<?> parse) {
        if (allocated <= MAX_ALLOCATED_BYTES) {
            return;
        }
        long before = THREADS.getCurrentThreadAllocatedBytes();
        outcome(typed, parse);
        long again = THREADS.getCurrentThreadAllocatedBytes() - before;
        if (again > MAX_ALLOCATED_BYTES) {
            throw new AssertionError("parsing the input allocated " + again + " bytes: an allocation sized from the"
                    + " input before it was checked");
        }
    }

    private static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path createScratch() {
        try {
            // Under the module's build folder, which a clean removes; one per JVM, as forks run side by side.
            return Files.createTempDirectory(Files.createDirectories(Path.of("target")), "fuzz-scratch");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
