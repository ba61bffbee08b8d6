package org.flexllm.examples.soak;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JVM's own account of its native memory: the summary of Native Memory Tracking, committed bytes per category,
 * read through the DiagnosticCommand MBean as {@code jcmd PID VM.native_memory summary} reads it. Unlike the
 * resident set, it counts what the process allocated (FFM arenas under "Other", thread stacks, metaspace, compiled
 * code, the collector's own structures), not which pages the kernel keeps in RAM: memory-mapped weights read once
 * and heap pages the collector touched made the resident set grow while every arena stayed flat.
 */
final class NativeMemory {
    /** The JVM option that turns tracking on; it cannot be turned on later. */
    static final String FLAG = "-XX:NativeMemoryTracking=summary";
    /** The category of the Java heap, which the soak measures on its own. */
    static final String JAVA_HEAP = "Java Heap";
    /**
     * The categories of the JVM's own machinery, sized by what it compiled, loaded and collected rather than by
     * what the requests asked for: compiled code ("Code") grows for many thousands of requests as C2 reaches
     * colder paths (+5 MB in a 1,000-request soak while every arena stayed flat); the compilers' arenas
     * ("Compiler", "Arena Chunk") swing by 30 MB with the moment a method compiles; the collector's structures
     * ("GC", "GCCardSet") follow the heap's size; class metadata ("Class", "Metaspace", "Symbol", "Module",
     * "Shared class space") follows the classes and lambdas loaded; NMT's own records follow the number of
     * allocations it tracks. The soak reports them, but does not hold them to its bound: their growth says how far
     * the JIT got, not whether a request left something behind. Everything else — FFM arenas and
     * {@code Unsafe} memory ("Other"), thread stacks ("Thread"), the JVM's internal buffers ("Internal"), untagged
     * memory ("Unknown") and any category a later JDK adds — is what requests, adapters and jobs allocate.
     */
    static final Set<String> JVM_MACHINERY = Set.of("Code", "Compiler", "Arena Chunk", "GC", "GCCardSet", "Class",
            "Metaspace", "Symbol", "Module", "Shared class space", "Native Memory Tracking", "Synchronization",
            "Object Monitors", "Serviceability", "Statistics", "Tracing", "Logging", "Arguments", "Safepoint",
            "String Deduplication", "JVMCI");

    private static final Pattern CATEGORY =
            Pattern.compile("^-\\s*(\\S.*?) \\(reserved=\\d+KB, committed=(\\d+)KB", Pattern.MULTILINE);

    private NativeMemory() {}

    /**
     * Committed bytes by category, now.
     *
     * @throws IllegalStateException when the JVM does not track its native memory (started without {@link #FLAG})
     */
    static Map<String, Long> committed() {
        String summary = summary();
        Map<String, Long> committed = parse(summary);
        if (committed.isEmpty()) {
            throw new IllegalStateException("native memory is measured with Native Memory Tracking: start the JVM"
                    + " with " + FLAG + " (./flexllm does for bench soak); it answered: " + summary.strip());
        }
        return committed;
    }

    /**
     * Fails now, rather than at the end of a long run, when the JVM does not track its native memory.
     *
     * @throws IllegalStateException when the JVM was started without {@link #FLAG}
     */
    static void requireTracking() {
        committed();
    }

    /** Committed bytes by category in the text of a summary in KB; empty if there are none. */
    static Map<String, Long> parse(String summary) {
        Map<String, Long> committed = new TreeMap<>();
        Matcher m = CATEGORY.matcher(summary);
        while (m.find()) {
            committed.put(m.group(1), Long.parseLong(m.group(2)) * 1024);
        }
        return committed;
    }

    /** The sum over the categories the bound judges: besides the Java heap and the {@link #JVM_MACHINERY}. */
    static long owned(Map<String, Long> committed) {
        return sum(committed, c -> !c.equals(JAVA_HEAP) && !JVM_MACHINERY.contains(c));
    }

    /** The sum over the {@link #JVM_MACHINERY} categories. */
    static long machinery(Map<String, Long> committed) {
        return sum(committed, JVM_MACHINERY::contains);
    }

    private static long sum(Map<String, Long> committed, Predicate<String> categories) {
        return committed.entrySet().stream().filter(e -> categories.test(e.getKey())).mapToLong(Map.Entry::getValue)
                .sum();
    }

    private static String summary() {
        return DiagnosticCommands.run("vmNativeMemory", "summary", "scale=KB");
    }
}
