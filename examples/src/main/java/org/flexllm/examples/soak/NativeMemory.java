package org.flexllm.examples.soak;

import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.JMException;
import javax.management.ObjectName;

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
     * The JIT compilers' working memory: arenas that live while a method compiles (30 MB at one moment of a soak,
     * 1 MB at its end), so it says when C2 ran, not whether memory leaks.
     */
    static final String COMPILER = "Compiler";

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

    /** The sum over the categories besides the Java heap and the compilers' working memory. */
    static long outsideHeap(Map<String, Long> committed) {
        return committed.entrySet().stream().filter(e -> !e.getKey().equals(JAVA_HEAP) && !e.getKey().equals(COMPILER))
                .mapToLong(Map.Entry::getValue).sum();
    }

    private static String summary() {
        try {
            return (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary", "scale=KB"}}, new String[] {String[].class.getName()});
        } catch (JMException e) {
            throw new IllegalStateException("could not read the JVM's native memory summary: " + e.getMessage(), e);
        }
    }
}
