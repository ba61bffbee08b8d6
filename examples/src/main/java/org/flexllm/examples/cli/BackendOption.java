package org.flexllm.examples.cli;

import org.flexllm.backend.Backends;
import picocli.CommandLine.Option;

/**
 * {@code --backend auto|cpu|cuda}: the backend of every engine and finetuning job the command builds. It sets the
 * process's default ({@link Backends#PROPERTY}) rather than each builder, so that the harnesses behind
 * {@code bench} and {@code serve} get it without a setting of their own; picocli calls the setter with the default
 * too, so one run's choice never leaks into the next in-process run.
 */
final class BackendOption {
    @Option(names = "--backend", defaultValue = Backends.AUTO, paramLabel = "NAME",
            description = "auto: the best backend this machine can run (the GPU's where the CUDA backend can run, else"
                    + " the CPU, saying why in one log line); cpu; or cuda, an error saying why where it cannot run."
                    + " `flexllm info` lists them.")
    void select(String name) {
        System.setProperty(Backends.PROPERTY, name);
    }
}
