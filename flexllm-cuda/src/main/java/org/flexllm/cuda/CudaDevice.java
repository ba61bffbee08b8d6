package org.flexllm.cuda;

import java.util.function.Supplier;

/**
 * Whether this machine can run the CUDA kernels, and if not why: the kernels' fatbin, the driver library, its
 * version, a GPU.
 *
 * @param problem       what is missing, or null when a GPU is usable
 * @param name          the first GPU's name, or null
 * @param driverVersion the CUDA version the driver supports ({@code cuDriverGetVersion}: 1000·major + 10·minor), 0
 *                      when no driver loaded
 * @param reason        what is missing, in words, or null when a GPU is usable
 */
public record CudaDevice(CudaProblem problem, String name, int driverVersion, String reason) {
    /**
     * The oldest driver the kernels run on: CUDA 13.0, whose toolkit built the fatbin (a 13.x driver runs any 13.y
     * code by minor-version compatibility; CUDA 13 needs driver 580 or newer).
     */
    public static final int MIN_DRIVER_VERSION = 13000;
    /** {@code CUDA_ERROR_INSUFFICIENT_DRIVER} and {@code CUDA_ERROR_NO_DEVICE}. */
    static final int INSUFFICIENT_DRIVER = 35;
    static final int NO_DEVICE = 100;

    /** Whether a GPU is usable. */
    public boolean available() {
        return problem == null;
    }

    /** Probes the fatbin, the driver of {@link CudaLibraries#driver()} and its GPUs; never throws. */
    public static CudaDevice probe() {
        return probe(CudaLibraries::driver);
    }

    /** Probes with the driver library {@code driverLibrary} opens: the real one, or a test's fake. */
    static CudaDevice probe(Supplier<NativeLibrary> driverLibrary) {
        if (!Kernels.present()) {
            return missing(CudaProblem.NO_KERNELS, 0, "the jar holds no kernels: flexllm-cuda was built without nvcc");
        }
        NativeLibrary library;
        try {
            library = driverLibrary.get();
        } catch (CudaException e) {
            return missing(CudaProblem.NO_DRIVER, 0, "no NVIDIA driver: " + e.getMessage());
        }
        Driver driver;
        try {
            driver = Driver.bind(library);
        } catch (CudaException e) {
            return missing(CudaProblem.DRIVER_TOO_OLD, 0, e.getMessage() + ": the driver is older than the bindings");
        }
        return probe(driver);
    }

    private static CudaDevice probe(Driver driver) {
        int version = 0;
        try {
            version = driver.version();
            if (version < MIN_DRIVER_VERSION) {
                return missing(CudaProblem.DRIVER_TOO_OLD, version, tooOld(version));
            }
            int init = driver.init();
            if (init != 0) {
                return initFailed(driver, init, version);
            }
            if (driver.deviceCount() == 0) {
                return missing(CudaProblem.NO_DEVICE, version, "the NVIDIA driver sees no GPU (0 devices)");
            }
            return new CudaDevice(null, driver.deviceName(driver.device(0)), version, null);
        } catch (CudaException e) {
            return missing(CudaProblem.DRIVER_FAILED, version, e.getMessage());
        }
    }

    private static CudaDevice initFailed(Driver driver, int init, int version) {
        String error = driver.errorName(init);
        return switch (init) {
            case NO_DEVICE -> missing(CudaProblem.NO_DEVICE, version, "the NVIDIA driver sees no GPU (cuInit: "
                    + error + ")");
            case INSUFFICIENT_DRIVER -> missing(CudaProblem.DRIVER_TOO_OLD, version, "cuInit failed with " + error
                    + " (the driver reports CUDA " + cudaVersion(version) + "): install a newer NVIDIA driver");
            default -> missing(CudaProblem.DRIVER_FAILED, version, "cuInit failed: " + error + " (" + init + ")");
        };
    }

    /** {@code 12040} as {@code 12.4}. */
    public static String cudaVersion(int driverVersion) {
        return driverVersion / 1000 + "." + driverVersion % 1000 / 10;
    }

    private static String tooOld(int version) {
        return "the NVIDIA driver supports CUDA " + cudaVersion(version) + ", the kernels need CUDA "
                + cudaVersion(MIN_DRIVER_VERSION) + " or newer (driver 580+)";
    }

    private static CudaDevice missing(CudaProblem problem, int driverVersion, String reason) {
        return new CudaDevice(problem, null, driverVersion, reason);
    }
}
