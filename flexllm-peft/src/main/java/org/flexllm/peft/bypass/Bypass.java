package org.flexllm.peft.bypass;

/** What one resident adapter adds at one projection of one layer. */
public sealed interface Bypass permits LoraBypass, Ia3Bypass {}
