package org.flexllm.examples.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceFileTest {
    @TempDir
    Path temp;

    private Path trace(String... lines) throws IOException {
        return Files.write(temp.resolve("trace.csv"), List.of(lines));
    }

    @Test
    void linesBecomeArrivalsAfterAnOptionalHeader() throws IOException {
        List<Arrival> expected = List.of(new Arrival(0, 12, 3), new Arrival(0.25, 7, 40), new Arrival(2, 1, 1));
        assertEquals(expected, TraceFile.read(trace("timestamp_s,prompt_len,output_len", "0,12,3", "0.25, 7, 40",
                "", "2.0,1,1")));
        assertEquals(expected, TraceFile.read(trace("0,12,3", "0.25,7,40", "2,1,1")));
    }

    @Test
    void aMissingFieldIsNamedWithTheLine() throws IOException {
        Path file = trace("timestamp_s,prompt_len,output_len", "0,12,3", "1,5");
        var e = assertThrows(TraceFormatException.class, () -> TraceFile.read(file));
        assertTrue(e.getMessage().startsWith(file + ":3: ") && e.getMessage().contains("3 fields"), e.getMessage());
    }

    @Test
    void aBadLengthIsNamedWithItsField() throws IOException {
        Path file = trace("0,12,3", "1,x,3");
        var e = assertThrows(TraceFormatException.class, () -> TraceFile.read(file));
        assertTrue(e.getMessage().startsWith(file + ":2: prompt_len 'x'"), e.getMessage());
        Path zero = trace("0,12,0");
        e = assertThrows(TraceFormatException.class, () -> TraceFile.read(zero));
        assertTrue(e.getMessage().startsWith(zero + ":1: output_len '0'"), e.getMessage());
    }

    @Test
    void aBadTimestampIsNamed() throws IOException {
        Path file = trace("0,12,3", "", "-1,5,5");
        var e = assertThrows(TraceFormatException.class, () -> TraceFile.read(file));
        assertTrue(e.getMessage().startsWith(file + ":3: timestamp_s '-1'"), e.getMessage());
    }

    @Test
    void aHeaderAfterTheFirstLineIsAnError() throws IOException {
        Path file = trace("0,12,3", "timestamp_s,prompt_len,output_len");
        var e = assertThrows(TraceFormatException.class, () -> TraceFile.read(file));
        assertTrue(e.getMessage().startsWith(file + ":2: timestamp_s"), e.getMessage());
    }

    @Test
    void timestampsMustNotGoBack() throws IOException {
        Path file = trace("1,12,3", "0.5,5,5");
        var e = assertThrows(TraceFormatException.class, () -> TraceFile.read(file));
        assertTrue(e.getMessage().startsWith(file + ":2: ") && e.getMessage().contains("sort"), e.getMessage());
    }
}
