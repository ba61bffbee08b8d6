package org.flexllm.cuda;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where cuBLAS and NCCL are: the folders of the system property {@value #PROPERTY} or the environment variable
 * {@value #ENV} (a path list), searched with their subfolders; NVIDIA's wheels unpack them as
 * {@code nvidia/cu13/lib/libcublas.so.13} and {@code nvidia/nccl/lib/libnccl.so.2}. The driver API's
 * {@code libcuda.so.1} comes with the GPU driver and is found by the dynamic loader.
 */
public final class CudaLibraries {
    public static final String PROPERTY = "flexllm.cuda.libs";
    public static final String ENV = "FLEXLLM_CUDA_LIBS";
    /** The system property naming the driver library's file, instead of the one the dynamic loader finds. */
    public static final String DRIVER_PROPERTY = "flexllm.cuda.driver";
    static final String CUBLAS = "libcublas.so.13";
    static final String NCCL = "libnccl.so.2";
    static final String DRIVER = "libcuda.so.1";
    /** How deep a folder's subfolders are searched: nvidia/cu13/lib is three below the unpacked wheel. */
    private static final int DEPTH = 4;

    private CudaLibraries() {}

    /** The file of library {@code fileName} in the configured folders, if there is one. */
    public static Optional<Path> find(String fileName) {
        for (Path folder : folders()) {
            try (Stream<Path> files = Files.find(folder, DEPTH, (p, a) -> p.getFileName().toString().equals(fileName))) {
                Optional<Path> found = files.findFirst();
                if (found.isPresent()) {
                    return found;
                }
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                // An unreadable folder holds nothing we can load; the next may.
            }
        }
        return Optional.empty();
    }

    /** The library, or a {@link CudaException} that says where it was looked for. */
    static NativeLibrary open(String fileName) {
        return find(fileName).map(NativeLibrary::open).orElseThrow(() -> new CudaException(fileName
                + " not found in " + folders() + " (set -D" + PROPERTY + " or " + ENV
                + " to folders holding NVIDIA's unpacked wheels or a CUDA toolkit's libraries)"));
    }

    /** The driver library: the file of {@value #DRIVER_PROPERTY}, else {@code libcuda.so.1} by the dynamic loader. */
    static NativeLibrary driver() {
        String file = System.getProperty(DRIVER_PROPERTY, "").strip();
        return file.isEmpty() ? NativeLibrary.byName(DRIVER) : NativeLibrary.open(Path.of(file));
    }

    private static List<Path> folders() {
        List<Path> folders = new ArrayList<>();
        for (String list : new String[] {System.getProperty(PROPERTY), System.getenv(ENV)}) {
            if (list != null && !list.isBlank()) {
                for (String folder : list.split(java.io.File.pathSeparator)) {
                    Path p = Path.of(folder);
                    if (Files.isDirectory(p)) {
                        folders.add(p);
                    }
                }
            }
        }
        return folders;
    }
}
