package org.flexllm.cuda;

import java.lang.invoke.MethodHandle;

/** Calls through FFM downcall handles, turning what a handle may throw into an unchecked failure. */
final class Native {
    private Native() {}

    static int invokeInt(MethodHandle function, Object... args) {
        try {
            return (int) function.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("native call failed: " + t, t);
        }
    }
}
