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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bindings' descriptors against the real headers. gcc preprocesses each header as C (so the name found is the
 * one the library exports: {@code cuda.h} maps {@code cuMemcpyHtoDAsync} to {@code cuMemcpyHtoDAsync_v2}, and C++
 * overloads such as cuBLAS's compatibility {@code cublasGemmEx} stay out); the prototype of every bound function is
 * read from that text; then g++ compiles a program that prints how each of its types is passed (an address, or an
 * integer or float of some size), which must be what the descriptor says. {@code cuda.h} comes with the CUDA
 * toolkit, {@code cublas_api.h} and {@code nccl.h} with NVIDIA's wheels (build-native.sh unpacks them).
 */
class LibrarySignaturesTest {
    private static final Path TOOLKIT_INCLUDE = Path.of(System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda"),
            "include");
    /** Words of C types, never a parameter's name. */
    private static final Set<String> TYPE_WORDS = Set.of("void", "char", "short", "int", "long", "float", "double",
            "signed", "unsigned", "const", "volatile", "*");

    /** Prints "name CODES" per function, one letter per type as {@link #code} writes them. */
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
            int main() {
            CALLS}
            """;

    /** A function's types as the header writes them. */
    private record Prototype(String returnType, List<String> parameterTypes) {}

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
        List<String> includes = List.of("-I", file.get().getParent().toString(), "-I", TOOLKIT_INCLUDE.toString());
        Path folder = Files.createDirectories(Path.of("target/signatures", header.replace('.', '_')));

        Map<String, Prototype> prototypes = prototypes(header, includes, folder, signatures.keySet());
        Map<String, String> declared = passing(header, includes, folder, prototypes);
        signatures.forEach((name, descriptor) -> assertEquals(declared.get(name), codes(descriptor),
                name + prototypes.get(name) + ": how the return value and parameters are passed, " + header
                        + " vs the descriptor"));
    }

    /** The prototypes of {@code names} in the header preprocessed as C. */
    private static Map<String, Prototype> prototypes(String header, List<String> includes, Path folder,
                                                     Set<String> names) throws IOException {
        Path c = folder.resolve("header.c");
        Files.writeString(c, "#include <" + header + ">\n");
        List<String> command = new ArrayList<>(List.of("gcc", "-E", "-P"));
        command.addAll(includes);
        command.add(c.toString());
        assumeTrue(NativeBuild.onPath("gcc"), "no gcc on the PATH: cannot preprocess " + header);
        String text = NativeBuild.run(command).replaceAll("\\s+", " ");
        return names.stream().collect(Collectors.toMap(name -> name, name -> prototype(text, name, header)));
    }

    private static Prototype prototype(String text, String name, String header) {
        Matcher m = Pattern.compile("(?:^|[;}]) ?([^;{}()]*?)\\b" + name + " ?\\(([^()]*)\\) ?;").matcher(text);
        if (!m.find()) {
            throw new AssertionError(header + " declares no function " + name);
        }
        String returnType = m.group(1).replaceAll("\\b(extern|static|inline)\\b", "").strip();
        String parameters = m.group(2).strip();
        List<String> types = parameters.isEmpty() || parameters.equals("void") ? List.of()
                : Arrays.stream(parameters.split(",")).map(LibrarySignaturesTest::withoutName).toList();
        return new Prototype(returnType, types);
    }

    /** {@code const void *srcHost} as {@code const void *}: the last word goes when it is a name, not a type's. */
    private static String withoutName(String parameter) {
        List<String> words = new ArrayList<>(List.of(parameter.replace("*", " * ").strip().split(" +")));
        if (words.size() > 1 && !TYPE_WORDS.contains(words.getLast())) {
            words.removeLast();
        }
        return String.join(" ", words);
    }

    /** How each function's types are passed, as g++ sees them with the header: "RETURN PARAMS" codes by name. */
    private static Map<String, String> passing(String header, List<String> includes, Path folder,
                                               Map<String, Prototype> prototypes) throws IOException {
        StringBuilder calls = new StringBuilder();
        prototypes.forEach((name, p) -> {
            calls.append("    std::printf(\"%s \", \"").append(name).append("\");\n");
            Stream.concat(Stream.of(p.returnType()), p.parameterTypes().stream())
                    .forEach(type -> calls.append("    std::putchar(code<").append(type).append(">());\n"));
            calls.append("    std::putchar('\\n');\n");
        });
        Path source = folder.resolve("passing.cpp");
        String program = PROGRAM.replace("HEADER", header).replace("CALLS", calls);
        if (!Files.exists(source) || !Files.readString(source).equals(program)) {
            Files.writeString(source, program);
        }
        Path executable = folder.resolve("passing");
        List<String> command = new ArrayList<>(List.of("g++", "-std=c++17"));
        command.addAll(includes);
        command.addAll(List.of("-o", executable.toString(), source.toString()));
        NativeBuild.build(executable, List.of(source), command);
        return NativeBuild.run(List.of(executable.toAbsolutePath().toString())).lines()
                .map(line -> line.split(" ")).collect(Collectors.toMap(f -> f[0], f -> f[1]));
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
