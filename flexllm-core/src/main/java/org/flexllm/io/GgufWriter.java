package org.flexllm.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.flexllm.tensor.Tensor;

/**
 * Writes a GGUF file (version 3, alignment 32) that {@link GgufFile} and llama.cpp read: the metadata as given,
 * the tensors in order with their stored dtype, shapes written innermost first. The file appears complete or
 * not at all (written beside, then moved).
 */
public final class GgufWriter {
    private static final int VERSION = 3;
    private static final int ALIGNMENT = GgufFile.DEFAULT_ALIGNMENT;

    private GgufWriter() {}

    /**
     * Writes {@code tensors} (named by {@link Tensor#name()}) and {@code metadata} to {@code file}.
     *
     * @throws UncheckedIOException when the file cannot be written
     */
    public static void write(Path file, Map<String, GgufValue> metadata, Collection<Tensor> tensors) {
        byte[] header = header(metadata, List.copyOf(tensors));
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long position = write(out, ByteBuffer.wrap(header), 0);
            for (Tensor t : tensors) {
                position = pad(out, position);
                position = write(out, t.data().asByteBuffer(), position);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + temp, e);
        }
        try {
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move " + temp + " to " + file, e);
        }
    }

    private static byte[] header(Map<String, GgufValue> metadata, List<Tensor> tensors) {
        Bytes out = new Bytes();
        out.u32(GgufFile.MAGIC);
        out.u32(VERSION);
        out.u64(tensors.size());
        out.u64(metadata.size());
        metadata.forEach((key, value) -> {
            out.string(key);
            out.u32(value.type().ordinal());
            out.value(value);
        });
        long offset = 0;
        for (Tensor t : tensors) {
            out.string(t.name());
            out.u32(t.shape().rank());
            for (int d = t.shape().rank() - 1; d >= 0; d--) {
                out.u64(t.shape().dim(d));
            }
            out.u32(GgufTensorTypes.id(t.dtype()));
            offset = aligned(offset);
            out.u64(offset);
            offset += t.data().byteSize();
        }
        return out.toByteArray();
    }

    private static long aligned(long position) {
        return Math.ceilDiv(position, (long) ALIGNMENT) * ALIGNMENT;
    }

    private static long pad(FileChannel out, long position) throws IOException {
        return write(out, ByteBuffer.allocate((int) (aligned(position) - position)), position);
    }

    private static long write(FileChannel out, ByteBuffer buffer, long position) throws IOException {
        long end = position + buffer.remaining();
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
        return end;
    }

    /** A little-endian byte sink for the header. */
    private static final class Bytes extends ByteArrayOutputStream {
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void u32(int value) {
            write(scratch.clear().putInt(value).array(), 0, 4);
        }

        void u64(long value) {
            write(scratch.clear().putLong(value).array(), 0, 8);
        }

        void string(String s) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
            u64(utf8.length);
            write(utf8, 0, utf8.length);
        }

        void value(GgufValue value) {
            if (value.type() == GgufType.ARRAY) {
                u32(value.elementType().ordinal());
                u64(value.elements().size());
                for (Object element : value.elements()) {
                    if (element instanceof GgufValue nested) {
                        value(nested);
                    } else {
                        scalar(value.elementType(), element);
                    }
                }
            } else {
                scalar(value.type(), value.value());
            }
        }

        private void scalar(GgufType type, Object v) {
            switch (type) {
                case UINT8, INT8 -> write(((Long) v).intValue());
                case BOOL -> write((Boolean) v ? 1 : 0);
                case UINT16, INT16 -> write(scratch.clear().putShort(((Long) v).shortValue()).array(), 0, 2);
                case UINT32, INT32 -> u32(((Long) v).intValue());
                case FLOAT32 -> u32(Float.floatToRawIntBits((Float) v));
                case UINT64, INT64 -> u64((Long) v);
                case FLOAT64 -> u64(Double.doubleToRawLongBits((Double) v));
                case STRING -> string((String) v);
                case ARRAY -> throw new IllegalStateException("arrays are written by value()");
            }
        }
    }
}
