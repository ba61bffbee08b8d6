package org.flexllm.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.flexllm.tensor.Tensor;

/**
 * Writes tensors to a safetensors file that {@link SafetensorsFile}, the Python {@code safetensors} package
 * and Hugging Face libraries all read: an 8-byte little-endian header length, the JSON header padded with
 * spaces to a multiple of 8 bytes (so the data starts 8-byte aligned), then each tensor's bytes in the
 * order given, contiguous.
 *
 * <p>The write is atomic: the file is written under a temporary name in the same folder, forced to disk,
 * then renamed over {@code file}. A reader sees the old file or the complete new one, never a partial one,
 * and a crash mid-write leaves the old file untouched.
 */
public final class SafetensorsWriter {
    /** What {@code safetensors.torch.save_file} and transformers write; transformers rejects a format-less file. */
    public static final Map<String, String> PYTORCH_METADATA = Map.of("format", "pt");

    private static final int HEADER_ALIGNMENT = 8;

    private SafetensorsWriter() {}

    /** Writes {@code tensors} with {@link #PYTORCH_METADATA}. */
    public static void write(Path file, Collection<Tensor> tensors) {
        write(file, tensors, PYTORCH_METADATA);
    }

    /**
     * Writes {@code tensors}, in iteration order, with {@code metadata} as the header's
     * {@code __metadata__} (omitted when empty). Each tensor's data must be little-endian, as
     * {@link Tensor} requires; any kind of segment (mapped, native, heap) is accepted.
     *
     * @throws IllegalArgumentException when two tensors share a name or one is named {@code __metadata__}
     * @throws UncheckedIOException     when the file cannot be written; {@code file} is then unchanged
     */
    public static void write(Path file, Collection<Tensor> tensors, Map<String, String> metadata) {
        byte[] header = header(tensors, metadata);
        long dataBytes = tensors.stream().mapToLong(t -> t.data().byteSize()).sum();
        Path temp = file.resolveSibling(file.getFileName() + "." + UUID.randomUUID() + ".tmp");
        try {
            try {
                writeAndForce(temp, header, tensors, dataBytes);
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(temp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write safetensors file " + file, e);
        }
    }

    /** The JSON header, space-padded so that the data after it starts at a multiple of 8. */
    private static byte[] header(Collection<Tensor> tensors, Map<String, String> metadata) {
        ObjectNode header = JsonNodeFactory.instance.objectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject(SafetensorsFile.METADATA_KEY);
            metadata.forEach(meta::put);
        }
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (Tensor t : tensors) {
            if (t.name().equals(SafetensorsFile.METADATA_KEY) || !names.add(t.name())) {
                throw new IllegalArgumentException("tensor name '" + t.name() + "' is reserved or used twice");
            }
            ObjectNode entry = header.putObject(t.name());
            entry.put("dtype", t.dtype().name());
            ArrayNode shape = entry.putArray("shape");
            for (int d = 0; d < t.shape().rank(); d++) {
                shape.add(t.shape().dim(d));
            }
            entry.putArray("data_offsets").add(offset).add(offset + t.data().byteSize());
            offset += t.data().byteSize();
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        byte[] padded = Arrays.copyOf(json, Math.ceilDiv(json.length, HEADER_ALIGNMENT) * HEADER_ALIGNMENT);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    /** Maps the new file so that tensors of any segment kind, and of any size, are copied without a heap buffer. */
    private static void writeAndForce(Path temp, byte[] header, Collection<Tensor> tensors, long dataBytes)
            throws IOException {
        long size = SafetensorsFile.HEADER_LENGTH_BYTES + header.length + dataBytes;
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofConfined()) {
            MemorySegment out = channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            out.set(SafetensorsFile.HEADER_LENGTH, 0, header.length);
            long offset = SafetensorsFile.HEADER_LENGTH_BYTES;
            MemorySegment.copy(MemorySegment.ofArray(header), 0, out, offset, header.length);
            offset += header.length;
            for (Tensor t : tensors) {
                MemorySegment.copy(t.data(), 0, out, offset, t.data().byteSize());
                offset += t.data().byteSize();
            }
            out.force();
            channel.force(true);
        }
    }
}
