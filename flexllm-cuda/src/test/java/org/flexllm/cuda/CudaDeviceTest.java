package org.flexllm.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/** The probe says why a machine cannot run CUDA, and on a GPU machine the driver's view of the device. */
class CudaDeviceTest {
    @Test
    void withoutAGpuTheProbeSaysWhy() {
        CudaDevice device = CudaDevice.probe();
        assumeTrue(!device.available(), "a GPU is present: " + device.name());
        assertNotNull(device.reason());
        assertFalse(device.reason().isBlank());
    }

    @Test
    void onAGpuTheDriverNamesTheDevice() {
        CudaDevice device = CudaDevice.probe();
        assumeTrue(device.available(), "no usable GPU (" + device.reason() + "): the device checks are skipped");
        Driver driver = Driver.load();
        driver.usePrimaryContext(driver.device(0));
        assertNotNull(driver.loadModule(java.lang.foreign.Arena.ofAuto().allocateFrom(
                java.lang.foreign.ValueLayout.JAVA_BYTE, Kernels.fatbin().orElseThrow())));
    }
}
