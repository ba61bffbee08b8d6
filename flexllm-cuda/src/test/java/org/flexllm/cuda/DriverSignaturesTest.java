package org.flexllm.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Each descriptor of {@link Driver#SIGNATURES} against the prototype {@code cuda.h} declares under that name: g++
 * compiles a program that takes every bound function's address (so a name the header does not declare, such as an
 * unversioned one where the library exports {@code _v2}, fails to compile) and prints how its return value and
 * parameters are passed, which must be what the descriptor says.
 */
class DriverSignaturesTest {
    private static final Path CUDA_H = Path.of(System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda"),
            "include", "cuda.h");
    private static final Path FOLDER = Path.of("target/driver-signatures");

    /** Prints "name RETURN PARAMS..." per function, one letter per type as {@link #code} writes them. */
    private static final String PROGRAM = """
            #include <cuda.h>
            #include <cstdio>
            #include <type_traits>
            template <class T> char code() {
                if constexpr (std::is_void_v<T>) return 'V';
                else if constexpr (std::is_pointer_v<T>) return 'A';
                else if constexpr (std::is_floating_point_v<T>) return sizeof(T) == 4 ? 'F' : 'D';
                else return sizeof(T) == 8 ? 'J' : sizeof(T) == 4 ? 'I' : sizeof(T) == 2 ? 'S' : 'B';
            }
            template <class R, class... A> void print(const char* name, R (*)(A...)) {
                std::printf("%s %c", name, code<R>());
                (std::printf("%c", code<A>()), ...);
                std::printf("\\n");
            }
            int main() {
            CALLS}
            """;

    @Test
    void everyDescriptorIsThePrototypeOfCudaH() throws IOException {
        assumeTrue(Files.exists(CUDA_H), "no " + CUDA_H + ": the CUDA toolkit's headers are not installed");
        Path source = FOLDER.resolve("signatures.cpp");
        String calls = Driver.SIGNATURES.keySet().stream()
                .map(name -> "    print(\"" + name + "\", &" + name + ");\n").collect(Collectors.joining());
        String program = PROGRAM.replace("CALLS", calls);
        Files.createDirectories(FOLDER);
        if (!Files.exists(source) || !Files.readString(source).equals(program)) {
            Files.writeString(source, program);
        }
        Path executable = FOLDER.resolve("signatures");
        NativeBuild.build(executable, List.of(source), List.of("g++", "-std=c++17", "-I",
                CUDA_H.getParent().toString(), "-o", executable.toString(), source.toString()));

        Map<String, String> header = NativeBuild.run(List.of(executable.toAbsolutePath().toString())).lines()
                .map(line -> line.split(" ")).collect(Collectors.toMap(f -> f[0], f -> f[1]));
        assertEquals(Driver.SIGNATURES.keySet(), header.keySet());
        Driver.SIGNATURES.forEach((name, descriptor) -> assertEquals(header.get(name), codes(descriptor),
                name + ": return and parameter classes, cuda.h vs the descriptor"));
    }

    private static String codes(FunctionDescriptor d) {
        return d.returnLayout().map(DriverSignaturesTest::code).orElse("V")
                + d.argumentLayouts().stream().map(DriverSignaturesTest::code).collect(Collectors.joining());
    }

    private static String code(MemoryLayout layout) {
        return switch (layout) {
            case AddressLayout _ -> "A";
            case ValueLayout.OfFloat _ -> "F";
            case ValueLayout.OfDouble _ -> "D";
            case ValueLayout v -> switch ((int) v.byteSize()) {
                case 8 -> "J";
                case 4 -> "I";
                case 2 -> "S";
                default -> "B";
            };
            default -> throw new AssertionError("no C type for " + layout);
        };
    }
}
