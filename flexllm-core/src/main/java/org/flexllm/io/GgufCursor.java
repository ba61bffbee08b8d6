package org.flexllm.io;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the little-endian header of a mapped GGUF file front to back. Every read, and every count or length
 * before anything is allocated for it, is checked against the bytes left, so a corrupt size field ends in a
 * {@link TruncatedGgufException}, never in an allocation of what it claims.
 */
final class GgufCursor {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;
    /** Arrays nest in GGUF; deeper than this is not a real file and would only exhaust the stack. */
    private static final int MAX_NESTING = 8;

    private final Path file;
    private final MemorySegment data;
    private long position;

    GgufCursor(Path file, MemorySegment data) {
        this.file = file;
        this.data = data;
    }

    long position() {
        return position;
    }

    int u32(String what) {
        require(4, what);
        int value = data.get(U32, position);
        position += 4;
        return value;
    }

    long u64(String what) {
        require(8, what);
        long value = data.get(U64, position);
        position += 8;
        return value;
    }

    /**
     * A count of items each at least {@code minBytes} long, which must all fit in the rest of the file.
     */
    long count(String what, long minBytes) {
        long count = u64(what);
        if (count < 0 || count > remaining() / Math.max(1, minBytes)) {
            throw new TruncatedGgufException(file, what + " is " + Long.toUnsignedString(count) + ", more than the "
                    + remaining() + " bytes left can hold: truncated or corrupt");
        }
        return count;
    }

    String string(String what) {
        long declared = count(what + " length", 1);
        if (declared > Integer.MAX_VALUE - 8) {
            throw new InvalidGgufException(file, what + " is " + declared + " bytes long, longer than a string can be");
        }
        int length = (int) declared;
        byte[] bytes = new byte[length];
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, position, bytes, 0, length);
        position += length;
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** A value of type {@code type} for metadata key {@code key}. */
    GgufValue value(String key, GgufType type) {
        return value(key, type, 0);
    }

    GgufType type(String what) {
        int id = u32(what);
        GgufType type = GgufType.byId(Integer.toUnsignedLong(id));
        if (type == null) {
            throw new GgufMetadataTypeException(file, what + " is the unknown value type "
                    + Integer.toUnsignedString(id));
        }
        return type;
    }

    private GgufValue value(String key, GgufType type, int depth) {
        if (type != GgufType.ARRAY) {
            return new GgufValue(type, null, scalar(key, type));
        }
        if (depth >= MAX_NESTING) {
            throw new GgufMetadataTypeException(file, "key '" + key + "' nests arrays deeper than " + MAX_NESTING);
        }
        GgufType elementType = type("key '" + key + "' element type");
        int count = (int) Math.min(Integer.MAX_VALUE, count("key '" + key + "' array length", elementType.minBytes()));
        List<Object> elements = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            elements.add(elementType == GgufType.ARRAY ? value(key, elementType, depth + 1)
                    : scalar(key, elementType));
        }
        return new GgufValue(type, elementType, elements);
    }

    private Object scalar(String key, GgufType type) {
        String what = "key '" + key + "'";
        return switch (type) {
            case UINT8 -> (long) (byte1(what) & 0xFF);
            case INT8 -> (long) byte1(what);
            case UINT16 -> (long) (short2(what) & 0xFFFF);
            case INT16 -> (long) short2(what);
            case UINT32 -> Integer.toUnsignedLong(u32(what));
            case INT32 -> (long) u32(what);
            case FLOAT32 -> Float.intBitsToFloat(u32(what));
            case BOOL -> bool(what);
            case STRING -> string(what);
            case UINT64, INT64 -> u64(what);
            case FLOAT64 -> Double.longBitsToDouble(u64(what));
            case ARRAY -> throw new IllegalStateException("arrays are read by value()");
        };
    }

    private boolean bool(String what) {
        byte b = byte1(what);
        if (b != 0 && b != 1) {
            throw new GgufMetadataTypeException(file, what + " is a BOOL of value " + b + ", neither 0 nor 1");
        }
        return b == 1;
    }

    private byte byte1(String what) {
        require(1, what);
        return data.get(ValueLayout.JAVA_BYTE, position++);
    }

    private short short2(String what) {
        require(2, what);
        short value = data.get(U16, position);
        position += 2;
        return value;
    }

    private long remaining() {
        return data.byteSize() - position;
    }

    private void require(long bytes, String what) {
        if (remaining() < bytes) {
            throw new TruncatedGgufException(file, "the file ends at byte " + data.byteSize() + " inside " + what
                    + " (at byte " + position + "): truncated");
        }
    }
}
