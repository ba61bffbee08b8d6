package org.flexllm.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class ExpTest {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    @Test
    void withinTwoUlpOfStrictMathOverTheWholeFiniteRange() {
        SplittableRandom random = new SplittableRandom(7);
        for (int n = 0; n < 200_000; n++) {
            float x = (float) random.nextDouble(Exp.UNDERFLOW, Exp.OVERFLOW);
            double expected = StrictMath.exp(x);
            float actual = Exp.exp(x);
            assertTrue(Math.abs(actual - expected) <= 2 * Math.ulp((float) expected),
                    () -> "exp(" + x + ") = " + actual + ", expected " + expected);
        }
    }

    @Test
    void exactAtZeroAndOne() {
        assertEquals(1f, Exp.exp(0f));
        assertEquals((float) Math.E, Exp.exp(1f), Math.ulp((float) Math.E));
    }

    @Test
    void limitsAndNan() {
        assertEquals(0f, Exp.exp(Float.NEGATIVE_INFINITY));
        assertEquals(0f, Exp.exp(-1000f));
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(100f));
        assertTrue(Float.isNaN(Exp.exp(Float.NaN)));
    }

    @Test
    void everyLaneHasTheBitsOfTheScalarForm() {
        SplittableRandom random = new SplittableRandom(11);
        float[] x = new float[F.length() * 4096];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-100, 100);
        }
        x[0] = Float.NaN;
        x[1] = Float.NEGATIVE_INFINITY;
        x[2] = Float.POSITIVE_INFINITY;
        x[3] = -0f;
        float[] lanes = new float[x.length];
        for (int i = 0; i < x.length; i += F.length()) {
            Exp.exp(FloatVector.fromArray(F, x, i)).intoArray(lanes, i);
        }
        for (int i = 0; i < x.length; i++) {
            assertEquals(Float.floatToRawIntBits(Exp.exp(x[i])), Float.floatToRawIntBits(lanes[i]), "lane of exp(" + x[i] + ")");
        }
    }
}
