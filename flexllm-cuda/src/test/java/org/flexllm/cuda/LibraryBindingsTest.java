package org.flexllm.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * cuBLAS and NCCL from NVIDIA's wheels (build-native.sh unpacks them): every function is bound, and the calls that
 * need no GPU answer with the versions the bindings were written for.
 */
class LibraryBindingsTest {
    @Test
    void cublasBindsAndIsVersion13() {
        assumeTrue(CudaLibraries.find(CudaLibraries.CUBLAS).isPresent(),
                "no " + CudaLibraries.CUBLAS + " unpacked (pip could not download NVIDIA's wheel)");
        assertEquals(13, Cublas.load().majorVersion());
    }

    @Test
    void ncclBindsAndIsVersion2_30() {
        assumeTrue(CudaLibraries.find(CudaLibraries.NCCL).isPresent(),
                "no " + CudaLibraries.NCCL + " unpacked (pip could not download NVIDIA's wheel)");
        int version = Nccl.load().version();
        assertEquals(2, version / 10000, "major of " + version);
        assertEquals(30, version / 100 % 100, "minor of " + version);
    }

    @Test
    void aMissingLibraryIsNamedWithWhereItWasLookedFor() {
        var e = assertThrows(CudaException.class, () -> CudaLibraries.open("libnot-a-cuda-library.so.1"));
        assertTrue(e.getMessage().contains("libnot-a-cuda-library.so.1")
                && e.getMessage().contains(CudaLibraries.PROPERTY), e.getMessage());
    }
}
