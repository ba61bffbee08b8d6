package org.flexllm.cuda;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.flexllm.backend.Backend;
import org.flexllm.backend.BackendProvider;

/**
 * Registers {@code cuda} ahead of the CPU. There is no CUDA {@link Backend} yet, so it is never available: its
 * reason says what this machine lacks (no driver, no GPU, a driver too old, ...) or, where a GPU is usable, that the
 * backend is not implemented; {@code auto} then falls back to the CPU and {@code cuda} by name is a
 * {@link CudaUnavailableException}.
 */
public final class CudaBackendProvider implements BackendProvider {
    /** Above the CPU's 0: {@code auto} prefers a GPU. */
    static final int PRIORITY = 100;

    private final Supplier<CudaDevice> device;

    /** The provider of this machine: probed once, on first use. */
    public CudaBackendProvider() {
        this(() -> ThisMachine.DEVICE);
    }

    /** A provider for the device {@code device} describes (a test's fake driver). */
    CudaBackendProvider(Supplier<CudaDevice> device) {
        this.device = device;
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return PRIORITY;
    }

    /** Not yet anywhere: the backend itself is not written (see {@link #unavailableReason()}). */
    @Override
    public boolean isAvailable() {
        return false;
    }

    @Override
    public String unavailableReason() {
        return unavailable().reason();
    }

    /** @throws CudaUnavailableException always, naming what this machine lacks or that the backend is not written */
    @Override
    public Backend create() {
        throw unavailable();
    }

    /** The driver's CUDA version, the first GPU, the kernels, and the cuBLAS and NCCL versions found. */
    @Override
    public Map<String, Object> facts() {
        CudaDevice d = device.get();
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("driver_cuda_version", d.driverVersion() == 0 ? "none" : CudaDevice.cudaVersion(d.driverVersion()));
        facts.put("device", d.name() == null ? "none" : d.name());
        facts.put("kernels", Kernels.present() ? "fatbin (sm_80, sm_90, compute_90 PTX)" : "none (built without nvcc)");
        facts.put("cublas", libraryVersion(() -> Cublas.load().version()));
        facts.put("nccl", libraryVersion(() -> Nccl.load().versionString()));
        return facts;
    }

    private CudaUnavailableException unavailable() {
        CudaDevice d = device.get();
        if (d.available()) {
            return new CudaUnavailableException(CudaProblem.NO_BACKEND, "a GPU is usable (" + d.name() + ", driver CUDA "
                    + CudaDevice.cudaVersion(d.driverVersion()) + ") but the CUDA backend is not implemented yet");
        }
        return new CudaUnavailableException(d.problem(), d.reason());
    }

    private static String libraryVersion(Supplier<String> version) {
        try {
            return version.get();
        } catch (CudaException e) {
            return "not found: " + e.getMessage();
        }
    }

    /** This machine's probe, made when first asked for: it loads the driver library. */
    private static final class ThisMachine {
        static final CudaDevice DEVICE = CudaDevice.probe();
    }
}
