package org.flexllm.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.SequencedMap;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * A memory-mapped GGUF file (llama.cpp's format). Its tensors are views of the mapping, valid while the arena
 * that mapped it is open; only the header (metadata and tensor infos) is read onto the heap.
 *
 * <p>The format, little-endian: magic {@code GGUF}, a u32 version (2 or 3), u64 tensor and metadata counts;
 * the metadata as (string key, u32 value type, value) with strings as (u64 length, UTF-8 bytes); per tensor its
 * name, u32 dimension count, u64 dimensions innermost first, u32 ggml type and u64 data offset; then, at the
 * next multiple of {@code general.alignment} (default 32), the tensor data, each tensor's offset (counted from
 * there) a multiple of the alignment. Everything is validated on {@link #open}: every size and offset the
 * file states is checked against the file's size before anything is allocated for it.
 *
 * @param path      the file
 * @param version   the format version
 * @param metadata  the key-value pairs
 * @param tensors   the tensors in header order, shapes outermost first as everywhere in this library
 * @param alignment the data alignment
 */
public record GgufFile(Path path, int version, GgufMetadata metadata, SequencedMap<String, Tensor> tensors,
        int alignment) {
    /** "GGUF" read as a little-endian u32. */
    static final int MAGIC = 0x46554747;
    static final int DEFAULT_ALIGNMENT = 32;
    static final String ALIGNMENT_KEY = "general.alignment";
    /** ggml's GGML_MAX_DIMS. */
    static final int MAX_DIMS = 4;
    /** A tensor info takes at least a name length, dimension count, type and offset. */
    private static final long MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
    /** A metadata pair takes at least a key length and a value type. */
    private static final long MIN_PAIR_BYTES = 8 + 4;

    public GgufFile {
        tensors = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(tensors));
    }

    /** Where one tensor's bytes lie, before it becomes a view of the mapping. */
    private record Info(String name, DType dtype, Shape shape, long offset, long bytes) {}

    /**
     * Maps {@code file} read-only into {@code arena} and validates it. The mapping belongs to {@code arena} even
     * when validation fails; closing the arena releases it.
     *
     * @throws InvalidGgufException  (one of its subclasses) naming the file and the key or tensor when the file
     *                               is malformed or holds a tensor type this library does not run
     * @throws UncheckedIOException  when the file cannot be read
     */
    public static GgufFile open(Path file, Arena arena) {
        MemorySegment mapped = map(file, arena);
        GgufCursor cursor = new GgufCursor(file, mapped);
        int version = header(file, cursor);
        long tensorCount = cursor.count("the tensor count", MIN_TENSOR_INFO_BYTES);
        long pairCount = cursor.count("the metadata count", MIN_PAIR_BYTES);
        SequencedMap<String, GgufValue> values = new LinkedHashMap<>();
        for (long i = 0; i < pairCount; i++) {
            String key = cursor.string("metadata key " + i);
            values.put(key, cursor.value(key, cursor.type("the type of key '" + key + "'")));
        }
        GgufMetadata metadata = new GgufMetadata(file, values);
        int alignment = alignment(metadata);
        List<Info> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            infos.add(info(file, cursor, alignment));
        }
        long dataStart = Math.ceilDiv(cursor.position(), (long) alignment) * alignment;
        SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
        for (Info info : infos) {
            tensors.put(info.name(), tensor(file, mapped, dataStart, info));
        }
        return new GgufFile(file, version, metadata, tensors, alignment);
    }

    /** The tensor called {@code name}, if the file has one. */
    public Optional<Tensor> get(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    private static MemorySegment map(Path file, Arena arena) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read GGUF file " + file, e);
        }
    }

    private static int header(Path file, GgufCursor cursor) {
        int magic = cursor.u32("the magic");
        if (magic != MAGIC) {
            throw new GgufHeaderException(file, "starts with 0x" + Integer.toHexString(Integer.reverseBytes(magic))
                    + ", not the GGUF magic 0x47475546 (\"GGUF\"): not a GGUF file");
        }
        int version = cursor.u32("the version");
        if (version != 2 && version != 3) {
            throw new GgufHeaderException(file, "has GGUF version " + Integer.toUnsignedString(version)
                    + "; this reader reads versions 2 and 3 (a big-endian file reads as a huge version)");
        }
        return version;
    }

    private static int alignment(GgufMetadata metadata) {
        if (metadata.find(ALIGNMENT_KEY).isEmpty()) {
            return DEFAULT_ALIGNMENT;
        }
        int alignment = metadata.intAtLeast(ALIGNMENT_KEY, 1);
        if (Integer.bitCount(alignment) != 1) {
            throw new GgufMetadataException(metadata.file(), "key '" + ALIGNMENT_KEY + "' is " + alignment
                    + ", not a power of two");
        }
        return alignment;
    }

    private static Info info(Path file, GgufCursor cursor, int alignment) {
        String name = cursor.string("a tensor name");
        int rank = cursor.u32("the dimension count of tensor '" + name + "'");
        if (rank < 1 || rank > MAX_DIMS) {
            throw new InvalidGgufException(file, "tensor '" + name + "' has " + Integer.toUnsignedString(rank)
                    + " dimensions; GGUF allows 1 to " + MAX_DIMS);
        }
        long[] dims = new long[rank];
        for (int d = 0; d < rank; d++) {
            // GGUF lists the innermost dimension first; shapes here list the outermost first.
            dims[rank - 1 - d] = cursor.u64("dimension " + d + " of tensor '" + name + "'");
        }
        int typeId = cursor.u32("the type of tensor '" + name + "'");
        long offset = cursor.u64("the data offset of tensor '" + name + "'");
        DType dtype = GgufTensorTypes.dtype(typeId);
        if (dtype == null) {
            throw new UnknownGgufTensorTypeException(file, "tensor '" + name + "' has "
                    + GgufTensorTypes.describe(typeId) + "; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K");
        }
        if (Long.remainderUnsigned(offset, alignment) != 0) {
            throw new MisalignedGgufTensorException(file, "tensor '" + name + "' starts at data offset "
                    + Long.toUnsignedString(offset) + ", not a multiple of the alignment " + alignment);
        }
        Shape shape = shape(file, name, dims);
        return new Info(name, dtype, shape, offset, bytes(file, name, dtype, shape));
    }

    private static Shape shape(Path file, String name, long[] dims) {
        try {
            Shape shape = Shape.of(dims);
            shape.elements();
            return shape;
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new InvalidGgufException(file, "tensor '" + name + "' has dimensions "
                    + Arrays.toString(dims) + ", which are negative or overflow a long");
        }
    }

    private static long bytes(Path file, String name, DType dtype, Shape shape) {
        long row = shape.dim(shape.rank() - 1);
        if (row % dtype.blockSize() != 0) {
            throw new InvalidGgufException(file, "tensor '" + name + "' is " + dtype + shape + ": rows of " + row
                    + " are not whole blocks of " + dtype.blockSize());
        }
        try {
            return dtype.bytes(shape.elements());
        } catch (ArithmeticException e) {
            throw new InvalidGgufException(file, "tensor '" + name + "' " + shape + " has more bytes than a long counts");
        }
    }

    private static Tensor tensor(Path file, MemorySegment mapped, long dataStart, Info info) {
        long available = Math.max(0, mapped.byteSize() - dataStart);
        if (info.offset() < 0 || info.offset() > available || info.bytes() > available - info.offset()) {
            throw new TruncatedGgufException(file, "tensor '" + info.name() + "' " + info.dtype() + info.shape()
                    + " needs bytes [" + Long.toUnsignedString(info.offset()) + ", +" + info.bytes()
                    + ") of the data section, which holds " + available + " bytes: truncated");
        }
        MemorySegment bytes = mapped.asSlice(dataStart + info.offset(), info.bytes());
        return new Tensor(info.name(), info.dtype(), info.shape(), bytes);
    }
}
