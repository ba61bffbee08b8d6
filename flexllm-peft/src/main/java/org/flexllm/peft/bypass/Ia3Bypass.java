package org.flexllm.peft.bypass;

import org.flexllm.peft.Parameter;

/** IA3 at one projection: its output (or, for a feed-forward module, its input) scaled elementwise by {@code l}. */
public record Ia3Bypass(Parameter l) implements Bypass {}
