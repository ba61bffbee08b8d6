package org.flexllm.cuda;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A fake {@code libcuda.so.1} (src/test/c/fake_libcuda.c) built by gcc for one scenario into a folder of
 * {@code target/fake-cuda/} named by its options: each scenario is a file of its own, so the dynamic loader keeps
 * them apart.
 *
 * @param name    the scenario, in words
 * @param defines the C source's -D options: INIT_RESULT, DRIVER_VERSION, DEVICE_COUNT, OMIT_ALLOC
 */
record FakeDriver(String name, List<String> defines) {
    private static final Path SOURCE = Path.of("src/test/c/fake_libcuda.c");

    FakeDriver(String name, String... defines) {
        this(name, List.of(defines));
    }

    @Override
    public String toString() {
        return name;
    }

    /** The library's file, built when missing or older than the source; skips the test where gcc is missing. */
    Path library() {
        Path output = Path.of("target/fake-cuda", defines.isEmpty() ? "default" : String.join(",", defines),
                CudaLibraries.DRIVER);
        List<String> command = new ArrayList<>(List.of("gcc", "-shared", "-fPIC", "-O1", "-Wall", "-Werror"));
        defines.forEach(d -> command.add("-D" + d));
        command.addAll(List.of("-o", output.toString(), SOURCE.toString()));
        return NativeBuild.build(output, List.of(SOURCE), command);
    }

    /** The probe of a machine whose driver is this fake. */
    CudaDevice probe() {
        Path library = library();
        return CudaDevice.probe(() -> NativeLibrary.open(library));
    }
}
