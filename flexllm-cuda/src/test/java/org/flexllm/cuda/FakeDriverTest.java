package org.flexllm.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.flexllm.backend.BackendChoice;
import org.flexllm.backend.BackendProvider;
import org.flexllm.backend.Backends;
import org.flexllm.backend.cpu.CpuBackendProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every way a machine without a usable GPU shows itself, through fake drivers that answer with chosen codes: the
 * probe names the problem, {@code cuda} by name is a {@link CudaUnavailableException} with it, and {@code auto}
 * falls back to the CPU giving it as the reason.
 */
class FakeDriverTest {
    @BeforeEach
    void needsTheKernels() {
        assumeTrue(Kernels.present(), "built without nvcc: the probe stops at the missing fatbin");
    }

    static Stream<Arguments> machinesWithoutAUsableGpu() {
        return Stream.of(
                Arguments.of(new FakeDriver("cuInit says no device", "INIT_RESULT=100"), CudaProblem.NO_DEVICE,
                        "CUDA_ERROR_NO_DEVICE"),
                Arguments.of(new FakeDriver("cuInit succeeds with no GPU", "DEVICE_COUNT=0"), CudaProblem.NO_DEVICE,
                        "0 devices"),
                Arguments.of(new FakeDriver("a CUDA 12.4 driver", "DRIVER_VERSION=12040", "DEVICE_COUNT=1"),
                        CudaProblem.DRIVER_TOO_OLD, "supports CUDA 12.4, the kernels need CUDA 13.0"),
                Arguments.of(new FakeDriver("cuInit says the driver is insufficient", "INIT_RESULT=35"),
                        CudaProblem.DRIVER_TOO_OLD, "CUDA_ERROR_INSUFFICIENT_DRIVER"),
                Arguments.of(new FakeDriver("a driver without stream-ordered allocation", "OMIT_ALLOC",
                        "DEVICE_COUNT=1"), CudaProblem.DRIVER_TOO_OLD, "has no function cuMemAllocAsync"),
                Arguments.of(new FakeDriver("cuInit fails otherwise", "INIT_RESULT=999"), CudaProblem.DRIVER_FAILED,
                        "cuInit failed: unknown error (999)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("machinesWithoutAUsableGpu")
    void theProbeNamesTheProblem(FakeDriver driver, CudaProblem problem, String reason) {
        CudaDevice device = driver.probe();
        assertFalse(device.available());
        assertEquals(problem, device.problem());
        assertTrue(device.reason().contains(reason), device.reason());
        assertNull(device.name());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("machinesWithoutAUsableGpu")
    void cudaByNameIsAnExceptionNamingTheProblem(FakeDriver driver, CudaProblem problem, String reason) {
        CudaBackendProvider cuda = provider(driver.probe());
        var e = assertThrows(CudaUnavailableException.class, cuda::create);
        assertEquals(problem, e.problem());
        assertTrue(e.getMessage().startsWith("the cuda backend cannot run here: ")
                && e.getMessage().contains(reason), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("machinesWithoutAUsableGpu")
    void autoFallsBackToTheCpuSayingWhy(FakeDriver driver, CudaProblem problem, String reason) {
        BackendChoice choice = Backends.choose(Backends.AUTO, List.of(provider(driver.probe()),
                new CpuBackendProvider()));
        assertEquals("cpu", choice.chosen().name());
        assertTrue(choice.fellBack());
        assertTrue(choice.explanation().startsWith("backend cpu: cuda is not available (")
                && choice.explanation().contains(reason), choice.explanation());
    }

    @Test
    void noDriverLibraryIsNoDriver() {
        Path absent = Path.of("target/fake-cuda/absent", CudaLibraries.DRIVER).toAbsolutePath();
        CudaDevice device = CudaDevice.probe(() -> NativeLibrary.open(absent));
        assertEquals(CudaProblem.NO_DRIVER, device.problem());
        assertTrue(device.reason().startsWith("no NVIDIA driver: ") && device.reason().contains(absent.toString()),
                device.reason());
        assertEquals(CudaProblem.NO_DRIVER,
                assertThrows(CudaUnavailableException.class, provider(device)::create).problem());
    }

    @Test
    void aUsableGpuIsNamedButTheBackendIsNotWrittenYet() {
        CudaDevice device = new FakeDriver("one GPU, CUDA 13.1", "DRIVER_VERSION=13010", "DEVICE_COUNT=1").probe();
        assertTrue(device.available(), device.reason());
        assertEquals("Fake GPU 0", device.name());
        assertEquals(13010, device.driverVersion());
        CudaBackendProvider cuda = provider(device);
        assertFalse(cuda.isAvailable());
        var e = assertThrows(CudaUnavailableException.class, cuda::create);
        assertEquals(CudaProblem.NO_BACKEND, e.problem());
        assertTrue(e.reason().contains("Fake GPU 0, driver CUDA 13.1")
                && e.reason().contains("not implemented yet"), e.reason());
        assertEquals(e.reason(), cuda.unavailableReason());
    }

    @Test
    void theDriverPropertyChoosesTheLibraryTheProbeLoads() {
        Path fake = new FakeDriver("cuInit says no device", "INIT_RESULT=100").library();
        String before = System.getProperty(CudaLibraries.DRIVER_PROPERTY);
        System.setProperty(CudaLibraries.DRIVER_PROPERTY, fake.toString());
        try {
            assertEquals(CudaProblem.NO_DEVICE, CudaDevice.probe().problem());
        } finally {
            if (before == null) {
                System.clearProperty(CudaLibraries.DRIVER_PROPERTY);
            } else {
                System.setProperty(CudaLibraries.DRIVER_PROPERTY, before);
            }
        }
    }

    @Test
    void theCudaProviderIsRegisteredAheadOfTheCpu() {
        List<String> names = Backends.providers().stream().map(BackendProvider::name).toList();
        assertEquals(List.of("cuda", "cpu"), names);
    }

    private static CudaBackendProvider provider(CudaDevice device) {
        return new CudaBackendProvider(() -> device);
    }
}
