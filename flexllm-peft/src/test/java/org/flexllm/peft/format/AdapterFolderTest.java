package org.flexllm.peft.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.Golden;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.DTypes;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AdapterFolderTest {
    @TempDir
    Path dir;

    static List<Path> loraCases() {
        return Golden.loraCases();
    }

    @ParameterizedTest
    @MethodSource("loraCases")
    void readsTheGoldenAdapterValidatedAgainstTheModel(Path goldenCase) {
        ModelConfig model = Golden.model(goldenCase);
        Path folder = goldenCase.resolve("lora");
        try (Arena arena = Arena.ofConfined()) {
            Adapter adapter = AdapterFolder.read(folder, model, arena);
            assertEquals(AdapterConfig.read(folder), adapter.config());
            assertEquals(model.numLayers() * 7 * 2, adapter.tensors().size());
            assertSameValues(SafetensorsFile.open(folder.resolve(AdapterFolder.WEIGHTS_FILE), arena).tensors(),
                    adapter.tensors());
        }
    }

    @ParameterizedTest
    @MethodSource("loraCases")
    void roundTripsTheGoldenAdapter(Path goldenCase) throws IOException {
        ModelConfig model = Golden.model(goldenCase);
        Path written = dir.resolve("adapter");
        try (Arena arena = Arena.ofConfined()) {
            Adapter golden = AdapterFolder.read(goldenCase.resolve("lora"), model, arena);
            AdapterFolder.write(written, golden);
            Adapter reread = AdapterFolder.read(written, model, arena);
            assertEquals(golden.config(), reread.config());
            assertSameValues(golden.tensors(), reread.tensors());
            assertSameValues(SafetensorsFile.open(goldenCase.resolve("lora/adapter_model.safetensors"), arena)
                    .tensors(), SafetensorsFile.open(written.resolve(AdapterFolder.WEIGHTS_FILE), arena).tensors());
        }
        try (Stream<Path> siblings = Files.list(dir)) {
            assertEquals(List.of(written), siblings.toList(), "no temporary folder is left behind");
        }
    }

    @Test
    void widensHalfPrecisionTensorsToF32() {
        Path goldenCase = Golden.loraCases().getFirst();
        ModelConfig model = Golden.model(goldenCase);
        try (Arena arena = Arena.ofConfined()) {
            Adapter golden = AdapterFolder.read(goldenCase.resolve("lora"), model, arena);
            List<Tensor> bf16 = golden.tensors().values().stream().map(t -> convert(t, DType.BF16, arena)).toList();
            AdapterFolder.write(dir, golden.config(), bf16);
            Adapter widened = AdapterFolder.read(dir, model, arena);
            for (Tensor t : bf16) {
                Tensor read = widened.tensors().get(t.name());
                assertEquals(DType.F32, read.dtype());
                for (long i = 0; i < t.shape().elements(); i++) {
                    assertEquals(t.getFloat(i), read.getFloat(i), t.name());
                }
            }
        }
    }

    @Test
    void aWrongShapeNamesTheTensorBothShapesAndTheModelDimension() {
        var e = assertThrows(AdapterMismatchException.class,
                () -> readEdited(tensors -> tensors.set(0, resized(tensors.getFirst()))));
        String key = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
        assertTrue(e.getMessage().contains(key) && e.getMessage().contains("[4, 63]")
                && e.getMessage().contains("[4, 64]") && e.getMessage().contains("hidden_size = 64"), e.getMessage());
    }

    @Test
    void aMissingTensorIsNamed() {
        var e = assertThrows(AdapterMismatchException.class, () -> readEdited(tensors -> tensors.remove(3)));
        assertTrue(e.getMessage().contains("k_proj.lora_B.weight' is missing"), e.getMessage());
    }

    @Test
    void anUnexpectedTensorIsNamed() {
        String extra = "base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight";
        var e = assertThrows(AdapterMismatchException.class,
                () -> readEdited(tensors -> tensors.add(rename(tensors.getFirst(), extra))));
        assertTrue(e.getMessage().contains("unexpected tensor 'base_model.model.model.layers.9.")
                && e.getMessage().contains("num_hidden_layers = 2"), e.getMessage());
    }

    @Test
    void anAdapterForAnotherModelIsRefused() {
        List<Path> cases = Golden.loraCases();
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(AdapterMismatchException.class,
                    () -> AdapterFolder.read(cases.get(0).resolve("lora"), Golden.model(cases.get(1)), arena));
        }
    }

    @Test
    void aMissingWeightsFileIsNamed() {
        AdapterConfig.builder().build().write(dir);
        try (Arena arena = Arena.ofConfined()) {
            var e = assertThrows(AdapterFolderException.class,
                    () -> AdapterFolder.read(dir, Golden.model(Golden.loraCases().getFirst()), arena));
            assertTrue(e.getMessage().contains("has no adapter_model.safetensors"), e.getMessage());
        }
    }

    @Test
    void replacesAnAdapterFolderButNeverAFolderWithOtherFiles() throws IOException {
        Path goldenCase = Golden.loraCases().getFirst();
        ModelConfig model = Golden.model(goldenCase);
        try (Arena arena = Arena.ofConfined()) {
            Adapter plain = AdapterFolder.read(goldenCase.resolve("lora"), model, arena);
            Adapter rslora = AdapterFolder.read(goldenCase.resolve("lora_rslora"), model, arena);
            Path folder = dir.resolve("adapter");
            AdapterFolder.write(folder, plain);
            AdapterFolder.write(folder, rslora);
            assertTrue(AdapterFolder.read(folder, model, arena).config().useRslora(), "replaced");

            Files.writeString(folder.resolve("notes.txt"), "mine");
            var e = assertThrows(AdapterFolderException.class, () -> AdapterFolder.write(folder, plain));
            assertTrue(e.getMessage().contains("notes.txt"), e.getMessage());
            assertTrue(Files.exists(folder.resolve("notes.txt")));
            assertTrue(AdapterFolder.read(folder, model, arena).config().useRslora(), "left as it was");
        }
    }

    /** The first golden adapter's tensors, edited, written with its config to the temporary folder, read back. */
    private void readEdited(Consumer<List<Tensor>> edit) {
        Path goldenCase = Golden.loraCases().getFirst();
        ModelConfig model = Golden.model(goldenCase);
        try (Arena arena = Arena.ofConfined()) {
            Adapter golden = AdapterFolder.read(goldenCase.resolve("lora"), model, arena);
            List<Tensor> tensors = new ArrayList<>(golden.tensors().values());
            edit.accept(tensors);
            AdapterFolder.write(dir, golden.config(), tensors);
            AdapterFolder.read(dir, model, arena);
        }
    }

    private static Tensor resized(Tensor t) {
        Shape shape = Shape.of(t.shape().dim(0), t.shape().dim(1) - 1);
        return new Tensor(t.name(), t.dtype(), shape, t.data().asSlice(0, shape.elements() * Float.BYTES));
    }

    private static Tensor rename(Tensor t, String name) {
        return new Tensor(name, t.dtype(), t.shape(), t.data());
    }

    private static Tensor convert(Tensor t, DType dtype, Arena arena) {
        var data = arena.allocate(t.shape().elements() * dtype.byteSize(), 2);
        for (long i = 0; i < t.shape().elements(); i++) {
            DTypes.write(dtype, data, i, t.getFloat(i));
        }
        return new Tensor(t.name(), dtype, t.shape(), data);
    }

    private static void assertSameValues(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, t) -> {
            assertEquals(t.shape(), actual.get(name).shape(), name);
            assertArrayEquals(t.data().toArray(ValueLayout.JAVA_BYTE),
                    actual.get(name).data().toArray(ValueLayout.JAVA_BYTE), name);
        });
    }
}
