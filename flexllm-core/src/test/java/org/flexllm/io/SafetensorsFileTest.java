package org.flexllm.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafetensorsFileTest {
    private static final Path GOLDEN_LLAMA = Path.of(System.getProperty("flexllm.shared", "../shared"))
            .resolve("golden/models/llama-gqa/model.safetensors");

    @TempDir
    Path dir;

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /** A file with a hand-written header, for inputs the writer would refuse to produce. */
    private Path raw(String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer bytes = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        bytes.putLong(json.length).put(json);
        return Files.write(dir.resolve("broken.safetensors"), bytes.array());
    }

    private InvalidSafetensorsException invalid(Path file) {
        return assertThrows(InvalidSafetensorsException.class, () -> SafetensorsFile.open(file, arena));
    }

    private static void assertMentions(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), () -> "'" + e.getMessage() + "' does not mention " + part);
        }
    }

    @Test
    void readsTheGoldenFileHeader() {
        SafetensorsFile file = SafetensorsFile.open(GOLDEN_LLAMA, arena);
        assertEquals(Map.of("format", "pt"), file.metadata());
        Tensor embed = file.get("model.embed_tokens.weight").orElseThrow();
        assertEquals(DType.F32, embed.dtype());
        assertEquals(Shape.of(256, 64), embed.shape());
        assertTrue(embed.data().isMapped(), "weights must be views of the mapping, not heap copies");
        assertTrue(file.get("no.such.tensor").isEmpty());
    }

    @Test
    void readsUnalignedTensorsWrittenAfterOddSizedOnes() {
        Path file = dir.resolve("t.safetensors");
        Tensor odd = TestTensors.tensor("odd", DType.BF16, Shape.of(3), 1.5f, -2f, 0.25f);
        Tensor f32 = TestTensors.tensor("f32", DType.F32, Shape.of(2, 2), 1f, 2f, 3f, -4.5f);
        SafetensorsWriter.write(file, List.of(odd, f32));

        Tensor read = SafetensorsFile.open(file, arena).tensors().get("f32");
        assertTrue(read.data().address() % 4 != 0, "the F32 tensor follows 6 bytes of BF16 and is unaligned");
        assertEquals(-4.5f, read.getFloat(3));
        assertEquals(3f, read.getFloat(2));
    }

    @Test
    void truncatedBelowTheHeaderLength() throws IOException {
        Path file = Files.write(dir.resolve("short.safetensors"), new byte[5]);
        assertMentions(invalid(file), "short.safetensors", "truncated");
    }

    @Test
    void headerLengthPastTheEndOfTheFile() throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000);
        Path file = Files.write(dir.resolve("cut.safetensors"), bytes.array());
        assertMentions(invalid(file), "cut.safetensors", "header length 1000", "past the end");
    }

    @Test
    void headerLengthAboveTheLimit() throws IOException {
        long length = SafetensorsFile.MAX_HEADER_BYTES + 8;
        Path file = dir.resolve("huge.safetensors");
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(length).array());
            out.setLength(8 + length);
        }
        assertMentions(invalid(file), "huge.safetensors", "exceeds the limit");
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        assertMentions(invalid(raw("{\"a\": [1, 2", 0)), "broken.safetensors", "not valid JSON");
    }

    @Test
    void headerThatIsNotAnObject() throws IOException {
        assertMentions(invalid(raw("[1, 2]", 0)), "broken.safetensors", "not a JSON object");
    }

    @Test
    void tensorListedTwice() throws IOException {
        String entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        assertMentions(invalid(raw("{\"w\":" + entry + ",\"w\":" + entry + "}", 4)), "broken.safetensors", "'w'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dtype", "shape", "data_offsets"})
    void entryMissingAField(String field) throws IOException {
        ObjectNode entry = JsonNodeFactory.instance.objectNode().put("dtype", "F32");
        entry.putArray("shape").add(2);
        entry.putArray("data_offsets").add(0).add(8);
        entry.remove(field);
        Exception e = invalid(raw("{\"model.norm.weight\":" + entry + "}", 8));
        assertMentions(e, "broken.safetensors", "model.norm.weight", "'" + field + "'");
    }

    @Test
    void unknownDtype() throws IOException {
        Path file = raw("{\"ids\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8);
        assertMentions(invalid(file), "broken.safetensors", "'ids'", "I64");
    }

    @Test
    void negativeDimension() throws IOException {
        Path file = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
        assertMentions(invalid(file), "broken.safetensors", "'w'", "shape [-1]");
    }

    @Test
    void offsetsThatDisagreeWithDtypeAndShape() throws IOException {
        Path file = raw("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,10]}}", 12);
        assertMentions(invalid(file), "broken.safetensors", "'w'", "BF16[2, 3] = 12 bytes", "span 10 bytes");
    }

    @Test
    void offsetsPastTheEndOfTheFile() throws IOException {
        Path file = raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12);
        assertMentions(invalid(file), "broken.safetensors", "'w'", "truncated");
    }

    @Test
    void overlappingTensors() throws IOException {
        Path file = raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertMentions(invalid(file), "broken.safetensors", "'a'", "'b'", "overlap");
    }

    @Test
    void metadataThatIsNotStrings() throws IOException {
        assertMentions(invalid(raw("{\"__metadata__\":{\"format\":1}}", 0)), "broken.safetensors", "format");
    }
}
