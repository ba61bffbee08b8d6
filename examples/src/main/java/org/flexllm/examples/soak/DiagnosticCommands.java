package org.flexllm.examples.soak;

import java.lang.management.ManagementFactory;
import javax.management.JMException;
import javax.management.ObjectName;

/** The JVM's diagnostic commands, as {@code jcmd} runs them, on this JVM through its DiagnosticCommand MBean. */
final class DiagnosticCommands {
    private DiagnosticCommands() {}

    /**
     * The text {@code operation} (the MBean's name of a command, e.g. {@code vmNativeMemory}) answers with.
     *
     * @throws IllegalStateException when the JVM cannot run it
     */
    static String run(String operation, String... arguments) {
        try {
            return (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), operation,
                    new Object[] {arguments}, new String[] {String[].class.getName()});
        } catch (JMException e) {
            throw new IllegalStateException("the JVM could not run " + operation + ": " + e.getMessage(), e);
        }
    }
}
