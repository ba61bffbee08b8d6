package org.flexllm.io;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.flexllm.FuzzInputs;
import org.flexllm.FuzzTarget;
import org.flexllm.tensor.Tensor;

/**
 * Any bytes as a safetensors file: {@link SafetensorsFile#open} returns tensors that lie inside the file, or
 * throws {@link InvalidSafetensorsException}. Seeds: {@code SafetensorsFuzzTestInputs}; {@code scripts/fuzz.sh}
 * adds the safetensors files of {@code ../shared}.
 */
class SafetensorsFuzzTest {
    @FuzzTarget
    void open(byte[] bytes) {
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsFile file = FuzzInputs.resultOr(InvalidSafetensorsException.class,
                    () -> SafetensorsFile.open(FuzzInputs.file("model.safetensors", bytes), arena));
            if (file != null) {
                long total = 0;
                for (Tensor t : file.tensors().values()) {
                    total += t.data().byteSize();
                }
                long bound = bytes.length;
                long sum = total;
                assertTrue(sum <= bound, () -> "tensors span " + sum + " bytes of a " + bound + "-byte file");
            }
        }
    }
}
