package org.flexllm.examples.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.flexllm.backend.BackendChoice;
import org.flexllm.backend.BackendProvider;
import org.flexllm.backend.Backends;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code flexllm info}: the backends found, which one {@code --backend} (default auto) chooses, and why not the others. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "List the backends this machine has, the one --backend (default auto) chooses, and why the"
                + " others were not chosen.")
final class InfoCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Mixin
    private BackendOption backend;

    @Option(names = "--json", description = "Print one JSON object.")
    private boolean json;

    /**
     * @param backends every registered backend: name, available, the reason when not, and what it found
     * @param chosen   the backend engines get, or null when the named one cannot run here
     * @param why      what was chosen and why not the better ones, or why the named one cannot run
     */
    record Report(List<Map<String, Object>> backends, String chosen, String why) {}

    @Override
    public Integer call() {
        List<BackendProvider> providers = Backends.providers();
        BackendChoice choice = Backends.choose(Backends.defaultName(), providers);
        BackendProvider chosen = choice.chosen();
        Report report = new Report(providers.stream().map(InfoCommand::describe).toList(),
                chosen.isAvailable() ? chosen.name() : null,
                chosen.isAvailable() ? choice.explanation() : chosen.name() + ": " + chosen.unavailableReason());
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.line(report));
        } else {
            print(report, out);
        }
        out.flush();
        return 0;
    }

    private static Map<String, Object> describe(BackendProvider p) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("name", p.name());
        entry.put("available", p.isAvailable());
        if (!p.isAvailable()) {
            entry.put("reason", p.unavailableReason());
        }
        entry.putAll(p.facts());
        return entry;
    }

    private static void print(Report report, PrintWriter out) {
        for (Map<String, Object> b : report.backends()) {
            out.printf("%-6s %s%n", b.get("name"), Boolean.TRUE.equals(b.get("available")) ? "available"
                    : "unavailable: " + b.get("reason"));
            b.forEach((key, value) -> {
                if (!List.of("name", "available", "reason").contains(key)) {
                    out.printf("       %s: %s%n", key, value);
                }
            });
        }
        out.println("chosen: " + (report.chosen() == null ? "none" : report.chosen()) + " (" + report.why() + ")");
    }
}
