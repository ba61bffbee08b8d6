package org.flexllm.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    private final List<Tensor> tensors = List.of(
            TestTensors.tensor("b.odd", DType.BF16, Shape.of(3), 1.5f, -2f, 0.25f),
            TestTensors.tensor("a.half", DType.F16, Shape.of(1, 2), 0.5f, 65504f),
            TestTensors.tensor("c.f32", DType.F32, Shape.of(2, 2), 1f, 2f, 3f, -4.5f),
            TestTensors.tensor("d.empty", DType.F32, Shape.of(0, 4)));

    @Test
    void writesTheStandardLayout() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, tensors);

        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLength % 8, "the data must start 8-byte aligned");
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        String unpadded = header.stripTrailing();
        assertEquals(" ".repeat(header.length() - unpadded.length()), header.substring(unpadded.length()),
                "the padding is spaces");
        JsonNode json = new ObjectMapper().readTree(unpadded);
        assertEquals("pt", json.get("__metadata__").get("format").asText());

        long offset = 0;
        for (Tensor t : tensors) {
            JsonNode entry = json.get(t.name());
            assertEquals(t.dtype().name(), entry.get("dtype").asText());
            assertEquals(List.of(offset, offset + t.data().byteSize()),
                    entry.get("data_offsets").valueStream().map(JsonNode::longValue).toList(), "contiguous data");
            byte[] stored = Arrays.copyOfRange(bytes, (int) (8 + headerLength + offset),
                    (int) (8 + headerLength + offset + t.data().byteSize()));
            assertArrayEquals(t.data().toArray(ValueLayout.JAVA_BYTE), stored, t.name());
            offset += t.data().byteSize();
        }
        assertEquals(8 + headerLength + offset, bytes.length);
    }

    @Test
    void roundTripsThroughTheReaderInOrder() {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, tensors, Map.of("source", "test"));
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsFile read = SafetensorsFile.open(file, arena);
            assertEquals(Map.of("source", "test"), read.metadata());
            assertEquals(tensors.stream().map(Tensor::name).toList(), List.copyOf(read.tensors().keySet()));
            for (Tensor t : tensors) {
                Tensor r = read.tensors().get(t.name());
                assertEquals(t.shape(), r.shape());
                assertEquals(-1, t.data().mismatch(r.data()), t.name());
            }
        }
    }

    @Test
    void acceptsNonByteHeapSegments() {
        Path file = dir.resolve("t.safetensors");
        Tensor floats = new Tensor("w", DType.F32, Shape.of(3), MemorySegment.ofArray(new float[] {1f, -2f, 3.5f}));
        SafetensorsWriter.write(file, List.of(floats));
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(3.5f, SafetensorsFile.open(file, arena).tensors().get("w").getFloat(2));
        }
    }

    @Test
    void replacesAnExistingFileAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, tensors);
        SafetensorsWriter.write(file, tensors.subList(0, 1));
        try (Arena arena = Arena.ofConfined(); Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
            assertEquals(List.of("b.odd"), List.copyOf(SafetensorsFile.open(file, arena).tensors().keySet()));
        }
    }

    @Test
    void refusesDuplicateNamesWithoutTouchingTheFile() throws IOException {
        Path file = dir.resolve("t.safetensors");
        SafetensorsWriter.write(file, tensors);
        byte[] before = Files.readAllBytes(file);
        List<Tensor> twice = List.of(tensors.get(0), tensors.get(0));
        var e = assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(file, twice));
        assertTrue(e.getMessage().contains("b.odd"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(file));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
    }
}
