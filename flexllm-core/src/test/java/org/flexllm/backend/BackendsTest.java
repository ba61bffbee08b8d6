package org.flexllm.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.flexllm.FlexLlmException;
import org.junit.jupiter.api.Test;

/** Which backend a name selects, and what {@code auto} says when it passes one over. */
class BackendsTest {
    /** A provider that only answers questions; creating its backend is never needed here. */
    private record Stub(String name, int priority, boolean isAvailable, String reason) implements BackendProvider {
        @Override
        public Backend create() {
            throw new UnsupportedOperationException(name);
        }

        @Override
        public String unavailableReason() {
            return reason;
        }
    }

    private static final Stub GPU = new Stub("gpu", 100, false, "no driver");
    private static final Stub NPU = new Stub("npu", 50, false, "no device");
    private static final Stub CPU = new Stub("cpu", 0, true, "");

    @Test
    void autoFallsPastEveryUnavailableBackendSayingWhyInOneLine() {
        BackendChoice choice = Backends.choose(Backends.AUTO, List.of(GPU, NPU, CPU));
        assertSame(CPU, choice.chosen());
        assertEquals(List.of(GPU, NPU), choice.passedOver());
        assertEquals("backend cpu: gpu is not available (no driver); npu is not available (no device)",
                choice.explanation());
    }

    @Test
    void autoTakesTheBestAvailableWithoutExplaining() {
        Stub gpu = new Stub("gpu", 100, true, "");
        BackendChoice choice = Backends.choose(Backends.AUTO, List.of(gpu, CPU));
        assertSame(gpu, choice.chosen());
        assertFalse(choice.fellBack());
        assertEquals("backend gpu", choice.explanation());
    }

    @Test
    void aNameSelectsItsBackendEvenWhereItCannotRunSoThatItsCreateSaysWhy() {
        BackendChoice choice = Backends.choose("gpu", List.of(GPU, CPU));
        assertSame(GPU, choice.chosen());
        assertFalse(choice.fellBack());
    }

    @Test
    void anUnknownNameListsTheKnownOnes() {
        var e = assertThrows(FlexLlmException.class, () -> Backends.choose("tpu", List.of(GPU, CPU)));
        assertEquals("no backend named 'tpu': choose auto or one of [gpu, cpu]", e.getMessage());
    }

    @Test
    void autoWithNothingAvailableGivesEveryReason() {
        var e = assertThrows(BackendUnavailableException.class,
                () -> Backends.choose(Backends.AUTO, List.of(GPU, NPU)));
        assertTrue(e.getMessage().contains("gpu (no driver)") && e.getMessage().contains("npu (no device)"),
                e.getMessage());
    }

    @Test
    void theCpuIsRegisteredAndSaysWhatItsKernelsAreSizedFor() {
        BackendProvider cpu = Backends.providers().stream().filter(p -> p.name().equals("cpu")).findFirst()
                .orElseThrow();
        assertTrue(cpu.isAvailable());
        assertEquals("", cpu.unavailableReason());
        int bits = (int) cpu.facts().get("vector_bits");
        assertTrue(List.of(128, 256, 512).contains(bits), "vector_bits " + bits);
        assertTrue(List.of(16, 32).contains((int) cpu.facts().get("vector_registers")));
        assertTrue((int) cpu.facts().get("threads") >= 1);
    }
}
