package org.flexllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ArrivalTest {
    @Test
    void aFittingRequestIsKept() {
        Arrival a = new Arrival(1.5, 100, 50);
        assertEquals(a, a.fittedTo(150));
    }

    @Test
    void theOutputIsCutToWhatThePromptLeaves() {
        assertEquals(new Arrival(1.5, 100, 28), new Arrival(1.5, 100, 50).fittedTo(128));
    }

    @Test
    void aPromptLongerThanTheContextLeavesRoomForOneToken() {
        assertEquals(new Arrival(0, 127, 1), new Arrival(0, 500, 50).fittedTo(128));
    }

    @Test
    void emptyRequestsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Arrival(0, 0, 5));
        assertThrows(IllegalArgumentException.class, () -> new Arrival(-1, 5, 5));
    }
}
