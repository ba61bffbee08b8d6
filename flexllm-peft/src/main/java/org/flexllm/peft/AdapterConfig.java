package org.flexllm.peft;

import java.nio.file.Path;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.flexllm.graph.Projection;

/**
 * What an adapter is, as PEFT's {@code adapter_config.json} says: the method, where it attaches and, for LoRA,
 * its rank and scaling. Immutable; build one with {@link #builder()} or {@link #read(Path)} it from a folder.
 *
 * <p>LoRA-only fields are 0 / false for IA3, and {@code feedforwardModules} is empty for LoRA: the constructor
 * sets them so, so that two configs of the same adapter are equal however they were made.
 *
 * @param method              LoRA or IA3
 * @param r                   LoRA rank, at least 1
 * @param loraAlpha           LoRA alpha (the numerator of the scale)
 * @param loraDropout         dropout probability on LoRA's input while training, in [0, 1)
 * @param useRslora           rank-stabilized LoRA: scale alpha/√r instead of alpha/r
 * @param targets             the Linear layers the adapter attaches to, in every decoder layer; not empty
 * @param feedforwardModules  IA3: the targets whose input (not output) is scaled; a subset of {@code targets}
 * @param baseModelNameOrPath the model the adapter was trained on, when known
 */
public record AdapterConfig(
        PeftMethod method,
        int r,
        double loraAlpha,
        double loraDropout,
        boolean useRslora,
        Set<Projection> targets,
        Set<Projection> feedforwardModules,
        Optional<String> baseModelNameOrPath) {

    /** The name of the file in an adapter folder. */
    public static final String FILE_NAME = "adapter_config.json";

    /**
     * @throws InvalidAdapterConfigException naming the field when a value is out of range
     */
    public AdapterConfig {
        targets = Collections.unmodifiableSet(EnumSet.copyOf(nonEmpty(targets)));
        if (method == PeftMethod.IA3) {
            r = 0;
            loraAlpha = 0;
            loraDropout = 0;
            useRslora = false;
            feedforwardModules = Collections.unmodifiableSet(copy(feedforwardModules));
            if (!targets.containsAll(feedforwardModules)) {
                throw new InvalidAdapterConfigException("feedforward_modules " + feedforwardModules
                        + " must be a subset of target_modules " + targets);
            }
        } else {
            feedforwardModules = Set.of();
            checkLora(r, loraAlpha, loraDropout);
        }
    }

    /** A builder with PEFT's defaults: LoRA, r 8, alpha 8, no dropout, PEFT's default targets for LLaMA. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * LoRA's output scale {@code s} in {@code y = W x + s · B A x}: alpha/r, or alpha/√r with rsLoRA.
     *
     * @throws IllegalStateException for IA3, which has no scale
     */
    public double scale() {
        if (method != PeftMethod.LORA) {
            throw new IllegalStateException(method + " adapters have no scale");
        }
        return useRslora ? loraAlpha / Math.sqrt(r) : loraAlpha / r;
    }

    /** Whether {@code projection} is an IA3 feedforward module (its input is scaled, not its output). */
    public boolean isFeedforward(Projection projection) {
        return feedforwardModules.contains(projection);
    }

    /**
     * Reads {@code adapter_config.json} from an adapter folder.
     *
     * @throws InvalidAdapterConfigException naming the file and field when the file is missing or malformed
     * @throws UnsupportedAdapterException   naming the file and field when it uses a feature we do not implement
     */
    public static AdapterConfig read(Path folder) {
        return AdapterConfigJson.read(folder.resolve(FILE_NAME));
    }

    /**
     * Writes {@code adapter_config.json} into {@code folder} in PEFT's format, atomically (a temporary file
     * forced to disk, then renamed over the old one).
     *
     * @throws java.io.UncheckedIOException when the file cannot be written; the old one is then unchanged
     */
    public void write(Path folder) {
        AdapterConfigJson.write(this, folder.resolve(FILE_NAME));
    }

    private static void checkLora(int r, double alpha, double dropout) {
        if (r <= 0) {
            throw new InvalidAdapterConfigException("r = " + r + ": the LoRA rank must be at least 1");
        }
        if (!Double.isFinite(alpha) || alpha <= 0) {
            throw new InvalidAdapterConfigException("lora_alpha = " + alpha + ": must be a positive number");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new InvalidAdapterConfigException("lora_dropout = " + dropout + ": must be in [0, 1)");
        }
    }

    private static Set<Projection> nonEmpty(Set<Projection> targets) {
        if (targets.isEmpty()) {
            throw new InvalidAdapterConfigException("target_modules is empty: name at least one module");
        }
        return targets;
    }

    private static EnumSet<Projection> copy(Set<Projection> projections) {
        return projections.isEmpty() ? EnumSet.noneOf(Projection.class) : EnumSet.copyOf(projections);
    }

    /** Builds an {@link AdapterConfig}; unset fields keep PEFT's defaults. */
    public static final class Builder {
        private PeftMethod method = PeftMethod.LORA;
        private int r = 8;
        private double loraAlpha = 8;
        private double loraDropout;
        private boolean useRslora;
        private Set<Projection> targets;
        private Set<Projection> feedforwardModules;
        private Optional<String> baseModelNameOrPath = Optional.empty();

        private Builder() {}

        public Builder method(PeftMethod method) {
            this.method = method;
            return this;
        }

        public Builder r(int r) {
            this.r = r;
            return this;
        }

        public Builder loraAlpha(double loraAlpha) {
            this.loraAlpha = loraAlpha;
            return this;
        }

        public Builder loraDropout(double loraDropout) {
            this.loraDropout = loraDropout;
            return this;
        }

        public Builder useRslora(boolean useRslora) {
            this.useRslora = useRslora;
            return this;
        }

        /** The target modules; PEFT's defaults for LLaMA when not set (LoRA: q, v; IA3: k, v, down). */
        public Builder targets(Set<Projection> targets) {
            this.targets = targets;
            return this;
        }

        /** IA3's feedforward modules; PEFT's default for LLaMA ({@code down_proj}, if targeted) when not set. */
        public Builder feedforwardModules(Set<Projection> feedforwardModules) {
            this.feedforwardModules = feedforwardModules;
            return this;
        }

        public Builder baseModelNameOrPath(String baseModelNameOrPath) {
            this.baseModelNameOrPath = Optional.of(baseModelNameOrPath);
            return this;
        }

        /**
         * @throws InvalidAdapterConfigException naming the field when a value is out of range
         */
        public AdapterConfig build() {
            Set<Projection> chosen = targets != null ? targets : defaultTargets(method);
            return new AdapterConfig(method, r, loraAlpha, loraDropout, useRslora, chosen,
                    feedforwardModules != null ? feedforwardModules : defaultFeedforward(chosen),
                    baseModelNameOrPath);
        }

        /** PEFT's TRANSFORMERS_MODELS_TO_{LORA,IA3}_TARGET_MODULES_MAPPING entries for llama. */
        private static Set<Projection> defaultTargets(PeftMethod method) {
            return switch (method) {
                case LORA -> EnumSet.of(Projection.Q_PROJ, Projection.V_PROJ);
                case IA3 -> EnumSet.of(Projection.K_PROJ, Projection.V_PROJ, Projection.DOWN_PROJ);
            };
        }

        /** {@code down_proj} when it is a target (LoRA ignores feedforward modules). */
        private static Set<Projection> defaultFeedforward(Set<Projection> targets) {
            return targets.contains(Projection.DOWN_PROJ) ? EnumSet.of(Projection.DOWN_PROJ) : Set.of();
        }
    }
}
