package org.flexllm.peft;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.UUID;

/**
 * Writes that a crash cannot leave half done: data goes to a temporary sibling, is forced to disk, and is then
 * renamed into place, and the folder holding the rename is forced too so that the rename itself survives.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Replaces {@code file} with {@code bytes}: readers see the old content or all of the new. */
    public static void write(Path file, byte[] bytes) throws IOException {
        Path temp = temporarySibling(file);
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
        forceDirectory(file.toAbsolutePath().getParent());
    }

    /** Forces a folder's entries (creations, renames, deletions) to disk. */
    public static void forceDirectory(Path folder) throws IOException {
        try (FileChannel channel = FileChannel.open(folder, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** A fresh name beside {@code path} (same folder, so a rename to {@code path} is atomic). */
    public static Path temporarySibling(Path path) {
        return path.resolveSibling("." + path.getFileName() + "." + UUID.randomUUID() + ".tmp");
    }
}
