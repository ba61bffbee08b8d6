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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bindings' descriptors against the real headers: for each library g++ compiles a program that takes the
 * address of every bound function (so a name the header does not declare, such as an unversioned one where the
 * library exports {@code _v2}, fails to compile) and prints how its return value and parameters are passed, which
 * must be what the descriptor says. {@code cuda.h} comes with the CUDA toolkit, {@code cublas_api.h} and
 * {@code nccl.h} with NVIDIA's wheels (build-native.sh unpacks them).
 */
class LibrarySignaturesTest {
    private static final Path TOOLKIT_INCLUDE = Path.of(System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda"),
            "include");

    /** Prints "name RETURN PARAMS..." per function, one letter per type as {@link #code} writes them. */
    private static final String PROGRAM = """
            #include <cstdio>
            #include <type_traits>
            #include <HEADER>
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

    static Stream<Arguments> libraries() {
        return Stream.of(Arguments.of("cuda.h", Driver.SIGNATURES), Arguments.of("cublas_api.h", Cublas.SIGNATURES),
                Arguments.of("nccl.h", Nccl.SIGNATURES));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("libraries")
    void everyDescriptorIsTheHeadersPrototype(String header, Map<String, FunctionDescriptor> signatures)
            throws IOException {
        Path inToolkit = TOOLKIT_INCLUDE.resolve(header);
        Optional<Path> file = Files.exists(inToolkit) ? Optional.of(inToolkit) : CudaLibraries.find(header);
        assumeTrue(file.isPresent(), "no " + header + " in " + TOOLKIT_INCLUDE + " or the unpacked wheels");
        Path folder = Path.of("target/signatures", header.replace('.', '_'));
        Path source = folder.resolve("signatures.cpp");
        String calls = signatures.keySet().stream().sorted()
                .map(name -> "    print(\"" + name + "\", &" + name + ");\n").collect(Collectors.joining());
        String program = PROGRAM.replace("HEADER", header).replace("CALLS", calls);
        Files.createDirectories(folder);
        if (!Files.exists(source) || !Files.readString(source).equals(program)) {
            Files.writeString(source, program);
        }
        Path executable = folder.resolve("signatures");
        List<String> command = new ArrayList<>(List.of("g++", "-std=c++17", "-I", file.get().getParent().toString(),
                "-I", TOOLKIT_INCLUDE.toString(), "-o", executable.toString(), source.toString()));
        NativeBuild.build(executable, List.of(source), command);

        Map<String, String> declared = NativeBuild.run(List.of(executable.toAbsolutePath().toString())).lines()
                .map(line -> line.split(" ")).collect(Collectors.toMap(f -> f[0], f -> f[1]));
        assertEquals(signatures.keySet(), declared.keySet());
        signatures.forEach((name, descriptor) -> assertEquals(declared.get(name), codes(descriptor),
                name + ": how the return value and parameters are passed, " + header + " vs the descriptor"));
    }

    private static String codes(FunctionDescriptor d) {
        return d.returnLayout().map(LibrarySignaturesTest::code).orElse("V")
                + d.argumentLayouts().stream().map(LibrarySignaturesTest::code).collect(Collectors.joining());
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
