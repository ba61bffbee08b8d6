package org.flexllm.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SequencedMap;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * A memory-mapped safetensors file. Its tensors are views of the mapping, valid while the arena that mapped
 * it is open; only the JSON header is read onto the heap.
 *
 * <p>The format: an 8-byte little-endian header length N; N bytes of JSON mapping each tensor name to
 * {@code {"dtype", "shape", "data_offsets": [begin, end]}}, plus an optional {@code "__metadata__"} object of
 * strings; then the data, with offsets counted from its first byte. Everything is validated on
 * {@link #open}, so a tensor handed out is always fully inside the file.
 *
 * @param path     the file
 * @param tensors  the tensors, in header order
 * @param metadata the {@code __metadata__} entries, empty when the header has none
 */
public record SafetensorsFile(Path path, SequencedMap<String, Tensor> tensors, Map<String, String> metadata) {
    /** The header key that holds string metadata instead of a tensor. */
    public static final String METADATA_KEY = "__metadata__";

    static final ValueLayout.OfLong HEADER_LENGTH =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int HEADER_LENGTH_BYTES = 8;

    /** The reference implementation's limit; it also keeps the header's heap copy small. */
    static final long MAX_HEADER_BYTES = 100_000_000;

    public SafetensorsFile {
        tensors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(tensors));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** Where one tensor's bytes lie, before it is turned into a view of the mapping. */
    private record Entry(String name, DType dtype, Shape shape, long begin, long end) {}

    /**
     * Maps {@code file} read-only into {@code arena} and validates its header. The mapping belongs to
     * {@code arena} even when validation fails; closing the arena releases it.
     *
     * @throws InvalidSafetensorsException naming the file and the field or tensor when the file is malformed
     * @throws UncheckedIOException        when the file cannot be read
     */
    public static SafetensorsFile open(Path file, Arena arena) {
        MemorySegment mapped = map(file, arena);
        long headerBytes = headerLength(file, mapped);
        JsonNode header = parseHeader(file, mapped.asSlice(HEADER_LENGTH_BYTES, headerBytes));
        MemorySegment data = mapped.asSlice(HEADER_LENGTH_BYTES + headerBytes);

        Map<String, String> metadata = Map.of();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                metadata = metadata(file, field.getValue());
            } else {
                entries.add(entry(file, field.getKey(), field.getValue(), data.byteSize()));
            }
        }
        checkNoOverlap(file, entries);

        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            MemorySegment bytes = data.asSlice(e.begin(), e.end() - e.begin());
            tensors.put(e.name(), new Tensor(e.name(), e.dtype(), e.shape(), bytes));
        }
        return new SafetensorsFile(file, tensors, metadata);
    }

    /** The tensor called {@code name}, if the file has one. */
    public Optional<Tensor> get(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    private static MemorySegment map(Path file, Arena arena) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < HEADER_LENGTH_BYTES) {
                throw new InvalidSafetensorsException(file, "truncated: " + size
                        + " bytes, shorter than the 8-byte header length");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read safetensors file " + file, e);
        }
    }

    private static long headerLength(Path file, MemorySegment mapped) {
        long length = mapped.get(HEADER_LENGTH, 0);
        long available = mapped.byteSize() - HEADER_LENGTH_BYTES;
        if (Long.compareUnsigned(length, available) > 0) {
            throw new InvalidSafetensorsException(file, "header length " + Long.toUnsignedString(length)
                    + " runs past the end of the file (" + available + " bytes follow the length):"
                    + " truncated or not a safetensors file");
        }
        if (length > MAX_HEADER_BYTES) {
            throw new InvalidSafetensorsException(file, "header length " + length + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes");
        }
        return length;
    }

    private static JsonNode parseHeader(Path file, MemorySegment bytes) {
        JsonNode header;
        try {
            header = Json.parse(new String(bytes.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new InvalidSafetensorsException(file, "header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (!header.isObject()) {
            throw new InvalidSafetensorsException(file, "header is not a JSON object");
        }
        return header;
    }

    private static Map<String, String> metadata(Path file, JsonNode node) {
        if (!node.isObject()) {
            throw new InvalidSafetensorsException(file, METADATA_KEY + " is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> field : node.properties()) {
            if (!field.getValue().isTextual()) {
                throw new InvalidSafetensorsException(file, METADATA_KEY + " value '" + field.getKey()
                        + "' is not a string");
            }
            metadata.put(field.getKey(), field.getValue().textValue());
        }
        return metadata;
    }

    private static Entry entry(Path file, String name, JsonNode node, long dataBytes) {
        if (!node.isObject()) {
            throw new InvalidSafetensorsException(file, "tensor '" + name + "' is not a JSON object");
        }
        DType dtype = dtype(file, name, required(file, name, node, "dtype"));
        Shape shape = Shape.of(naturals(file, name, node, "shape"));
        long[] offsets = naturals(file, name, node, "data_offsets");
        if (offsets.length != 2 || offsets[0] > offsets[1]) {
            throw new InvalidSafetensorsException(file, "tensor '" + name + "' has data_offsets "
                    + node.get("data_offsets") + "; expected [begin, end] with begin <= end");
        }
        long expected = byteSize(file, name, dtype, shape);
        if (offsets[1] - offsets[0] != expected) {
            throw new InvalidSafetensorsException(file, "tensor '" + name + "' is " + dtype + shape + " = "
                    + expected + " bytes but its data_offsets [" + offsets[0] + ", " + offsets[1] + "] span "
                    + (offsets[1] - offsets[0]) + " bytes");
        }
        if (offsets[1] > dataBytes) {
            throw new InvalidSafetensorsException(file, "tensor '" + name + "' ends at data byte " + offsets[1]
                    + " but the file holds only " + dataBytes + " data bytes: truncated");
        }
        return new Entry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static JsonNode required(Path file, String name, JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null) {
            throw new InvalidSafetensorsException(file, "tensor '" + name + "' has no '" + field + "'");
        }
        return value;
    }

    private static DType dtype(Path file, String name, JsonNode node) {
        if (!node.isTextual()) {
            throw new InvalidSafetensorsException(file, "tensor '" + name + "' has dtype " + node
                    + ", not a string");
        }
        try {
            return DType.fromSafetensors(node.textValue());
        } catch (IllegalArgumentException e) {
            throw new InvalidSafetensorsException(file, "tensor '" + name + "': " + e.getMessage(), e);
        }
    }

    /** A JSON array of non-negative integers (a shape or a pair of offsets). */
    private static long[] naturals(Path file, String name, JsonNode node, String field) {
        JsonNode array = required(file, name, node, field);
        boolean valid = array.isArray() && array.valueStream()
                .allMatch(v -> v.isIntegralNumber() && v.canConvertToLong() && v.longValue() >= 0);
        if (!valid) {
            throw new InvalidSafetensorsException(file, "tensor '" + name + "' has " + field + " " + array
                    + ", not an array of non-negative integers");
        }
        return array.valueStream().mapToLong(JsonNode::longValue).toArray();
    }

    private static long byteSize(Path file, String name, DType dtype, Shape shape) {
        try {
            return Math.multiplyExact(shape.elements(), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new InvalidSafetensorsException(file, "tensor '" + name + "' shape " + shape
                    + " has more bytes than a long can count", e);
        }
    }

    private static void checkNoOverlap(Path file, List<Entry> entries) {
        List<Entry> byBegin = entries.stream()
                .filter(e -> e.end() > e.begin())
                .sorted(Comparator.comparingLong(Entry::begin))
                .toList();
        for (int i = 1; i < byBegin.size(); i++) {
            Entry previous = byBegin.get(i - 1);
            Entry current = byBegin.get(i);
            if (current.begin() < previous.end()) {
                throw new InvalidSafetensorsException(file, "tensors '" + previous.name() + "' ["
                        + previous.begin() + ", " + previous.end() + ") and '" + current.name() + "' ["
                        + current.begin() + ", " + current.end() + ") overlap");
            }
        }
    }
}
