package org.flexllm.cuda;

/**
 * Whether this machine can run the CUDA kernels, and if not why: the driver library, a GPU, the kernels' fatbin.
 *
 * @param available whether all are present
 * @param name      the first GPU's name, or null
 * @param reason    what is missing, or null when available
 */
public record CudaDevice(boolean available, String name, String reason) {
    /** Probes the driver, the GPUs and the fatbin; never throws. */
    public static CudaDevice probe() {
        if (Kernels.fatbin().isEmpty()) {
            return missing("the jar holds no kernels: it was built without nvcc");
        }
        try {
            Driver driver = Driver.load();
            if (driver.deviceCount() == 0) {
                return missing("the CUDA driver sees no GPU");
            }
            return new CudaDevice(true, driver.deviceName(driver.device(0)), null);
        } catch (CudaException e) {
            return missing(e.getMessage());
        }
    }

    private static CudaDevice missing(String reason) {
        return new CudaDevice(false, null, reason);
    }
}
