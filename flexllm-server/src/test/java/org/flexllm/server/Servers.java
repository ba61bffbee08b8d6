package org.flexllm.server;

import java.nio.file.Path;
import java.util.function.Consumer;
import org.flexllm.Shared;

/** Servers the tests start: on a free port, with their state in a test's temporary folder. */
final class Servers {
    /** A real model (a 260K-parameter LLaMA trained on TinyStories), small enough for every test. */
    static final String STORIES = Shared.resolve("models/stories260K").toString();
    static final String TINY = "synthetic:tiny";

    private Servers() {}

    static FlexLlmServer start(String model, Path state, Consumer<FlexLlmServer.Builder> settings) {
        FlexLlmServer.Builder b = FlexLlmServer.builder().model(model).port(0).stateDir(state);
        settings.accept(b);
        return b.start();
    }

    static FlexLlmServer stories(Path state) {
        return start(STORIES, state, b -> { });
    }
}
