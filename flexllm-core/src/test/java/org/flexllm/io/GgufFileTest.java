package org.flexllm.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.function.Consumer;
import org.flexllm.Shared;
import org.flexllm.api.LoadedModel;
import org.flexllm.model.VocabularyMismatchException;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading GGUF files: llama.cpp's stories260K, a round trip through the writer, and bad files built from it. */
class GgufFileTest {
    static final Path STORIES = Shared.resolve("models/stories260K-gguf/stories260K.gguf");

    @TempDir
    Path dir;

    @Test
    void readsLlamaCppsFile() {
        try (Arena arena = Arena.ofConfined()) {
            GgufFile file = GgufFile.open(STORIES, arena);
            assertEquals(3, file.version());
            assertEquals(48, file.tensors().size());
            assertEquals("llama", file.metadata().string("general.architecture"));
            assertEquals(512, file.metadata().strings("tokenizer.ggml.tokens").size());
            assertEquals(64, file.metadata().integer("llama.embedding_length"));
            assertEquals(1e-5, file.metadata().optionalNumber("llama.attention.layer_norm_rms_epsilon").orElseThrow(),
                    1e-9);
            Tensor ffnDown = file.get("blk.0.ffn_down.weight").orElseThrow();
            assertEquals("[64, 172]", ffnDown.shape().toString());
        }
    }

    @Test
    void writerRoundTripsEveryValueTypeAndTheTensors() {
        try (Arena arena = Arena.ofConfined()) {
            GgufFile original = GgufFile.open(STORIES, arena);
            SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(original.metadata().values());
            long i = 0;
            for (GgufType type : GgufType.values()) {
                if (type != GgufType.ARRAY) {
                    metadata.put("test." + type, new GgufValue(type, null, sample(type, ++i)));
                    metadata.put("test.array." + type, new GgufValue(GgufType.ARRAY, type,
                            List.of(sample(type, i), sample(type, i + 1))));
                }
            }
            metadata.put("test.nested", new GgufValue(GgufType.ARRAY, GgufType.ARRAY,
                    List.of(GgufValue.strings(List.of("a", "b")), GgufValue.strings(List.of()))));
            Path copy = dir.resolve("copy.gguf");
            GgufWriter.write(copy, metadata, original.tensors().values());
            GgufFile read = GgufFile.open(copy, arena);
            assertEquals(metadata, read.metadata().values());
            for (Tensor t : original.tensors().values()) {
                Tensor back = read.get(t.name()).orElseThrow();
                assertEquals(t.shape(), back.shape());
                assertArrayEquals(t.data().toArray(ValueLayout.JAVA_BYTE), back.data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    @Test
    void truncatedFilesAreNamedTruncated() throws IOException {
        byte[] bytes = Files.readAllBytes(STORIES);
        for (int length : new int[] {0, 3, 7, 30, 5000, 14100, bytes.length - 1}) {
            Path cut = write("cut" + length, Arrays.copyOf(bytes, length));
            var e = assertThrows(TruncatedGgufException.class, () -> open(cut), "cut at " + length);
            assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
        }
        var last = assertThrows(TruncatedGgufException.class,
                () -> open(write("short", Arrays.copyOf(bytes, bytes.length - 1))));
        assertTrue(last.getMessage().contains("blk.4.ffn_norm.weight"), last.getMessage());
    }

    @Test
    void sizeFieldsBeyondTheFileFailBeforeAllocating() throws IOException {
        byte[] bytes = Files.readAllBytes(STORIES);
        // The tensor count, the metadata count, and the first key's length, each set to a huge value.
        for (int at : new int[] {8, 16, 24}) {
            byte[] bad = bytes.clone();
            ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putLong(at, Long.MAX_VALUE / 2);
            Path file = write("huge" + at, bad);
            assertThrows(TruncatedGgufException.class, () -> open(file), "field at " + at);
        }
        // The length of the token array (after its key, type and element type).
        byte[] bad = bytes.clone();
        int array = indexOf(bad, "tokenizer.ggml.tokens") + "tokenizer.ggml.tokens".length() + 8;
        ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putLong(array, 1L << 40);
        Path file = write("hugeArray", bad);
        var e = assertThrows(TruncatedGgufException.class, () -> open(file));
        assertTrue(e.getMessage().contains("tokenizer.ggml.tokens"), e.getMessage());
    }

    @Test
    void badMagicAndVersionsAreHeaderErrors() throws IOException {
        byte[] bytes = Files.readAllBytes(STORIES);
        byte[] magic = bytes.clone();
        magic[0] = 'X';
        assertThrows(GgufHeaderException.class, () -> open(write("magic", magic)));
        for (int version : new int[] {1, 4, 0x03000000}) {
            byte[] bad = bytes.clone();
            ByteBuffer.wrap(bad).order(ByteOrder.LITTLE_ENDIAN).putInt(4, version);
            var e = assertThrows(GgufHeaderException.class, () -> open(write("v" + version, bad)));
            assertTrue(e.getMessage().contains("version"), e.getMessage());
        }
    }

    @Test
    void unknownAndUnsupportedTensorTypesNameTheTensor() throws IOException {
        for (int type : new int[] {99, 13}) {
            byte[] bad = patchTensor("blk.2.attn_v.weight", 2, 0, type);
            var e = assertThrows(UnknownGgufTensorTypeException.class, () -> open(write("type" + type, bad)));
            assertTrue(e.getMessage().contains("blk.2.attn_v.weight"), e.getMessage());
        }
    }

    @Test
    void misalignedOffsetsNameTheTensor() throws IOException {
        byte[] bad = patchTensor("blk.1.attn_q.weight", 2, 4, 0);
        var e = assertThrows(MisalignedGgufTensorException.class, () -> open(write("misaligned", bad)));
        assertTrue(e.getMessage().contains("blk.1.attn_q.weight"), e.getMessage());
    }

    @Test
    void metadataOfTheWrongTypeNamesTheKey() {
        Path file = rewritten("wrongType", m -> m.put("llama.embedding_length", GgufValue.string("64")));
        var e = assertThrows(GgufMetadataTypeException.class, () -> LoadedModel.open(file.toString()).close());
        assertTrue(e.getMessage().contains("llama.embedding_length"), e.getMessage());
        Path alignment = rewritten("alignment", m -> m.put("general.alignment", GgufValue.float32(32)));
        assertThrows(GgufMetadataTypeException.class, () -> open(alignment));
        Path tokens = rewritten("tokens", m -> m.put("tokenizer.ggml.tokens", GgufValue.float32s(new float[512])));
        var t = assertThrows(GgufMetadataTypeException.class, () -> LoadedModel.open(tokens.toString()).close());
        assertTrue(t.getMessage().contains("tokenizer.ggml.tokens"), t.getMessage());
    }

    @Test
    void aVocabularyThatDoesNotMatchTheEmbeddingsIsRejected() {
        Path file = rewritten("vocab", m -> {
            List<String> tokens = m.get("tokenizer.ggml.tokens").elements().stream().map(String.class::cast).toList();
            m.put("tokenizer.ggml.tokens", GgufValue.strings(tokens.subList(0, 500)));
        });
        var e = assertThrows(VocabularyMismatchException.class, () -> LoadedModel.open(file.toString()).close());
        assertTrue(e.getMessage().contains("500") && e.getMessage().contains("512"), e.getMessage());
    }

    /** The stories file with one metadata change, its tensors unchanged. */
    private Path rewritten(String name, Consumer<SequencedMap<String, GgufValue>> change) {
        try (Arena arena = Arena.ofConfined()) {
            GgufFile original = GgufFile.open(STORIES, arena);
            SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(original.metadata().values());
            change.accept(metadata);
            Path file = dir.resolve(name + ".gguf");
            GgufWriter.write(file, metadata, original.tensors().values());
            return file;
        }
    }

    /** The stories file with tensor {@code name}'s ({@code dims} dimensions) offset and type replaced. */
    private static byte[] patchTensor(String name, int dims, long offset, int type) throws IOException {
        byte[] bytes = Files.readAllBytes(STORIES);
        int info = indexOf(bytes, name) + name.length() + 4 + 8 * dims;
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (type != 0) {
            buffer.putInt(info, type);
        }
        if (offset != 0) {
            buffer.putLong(info + 4, buffer.getLong(info + 4) + offset);
        }
        return bytes;
    }

    private static int indexOf(byte[] bytes, String text) {
        byte[] needle = text.getBytes(StandardCharsets.UTF_8);
        outer:
        for (int i = 0; i + needle.length <= bytes.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (bytes[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError(text + " not found");
    }

    private static Object sample(GgufType type, long i) {
        return switch (type) {
            case FLOAT32 -> (float) i / 3;
            case FLOAT64 -> (double) i / 7;
            case BOOL -> i % 2 == 0;
            case STRING -> "value ✓ " + i;
            case UINT64 -> -i;
            case INT8, INT16, INT32, INT64 -> -i;
            default -> i;
        };
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name + ".gguf"), bytes);
    }

    private static void open(Path file) {
        try (Arena arena = Arena.ofConfined()) {
            GgufFile.open(file, arena);
        }
    }
}
