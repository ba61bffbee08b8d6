package org.flexllm.parallel;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.function.BooleanSupplier;
import org.flexllm.backend.Backend;

/** A backend that throws {@code failure} from the attention kernel whenever {@code fails} says so. */
final class FailingBackend {
    private FailingBackend() {}

    static Backend of(Backend backend, BooleanSupplier fails, RuntimeException failure) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("attention") && fails.getAsBoolean()) {
                        throw failure;
                    }
                    try {
                        return method.invoke(backend, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
