package org.flexllm.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Map;

/** A shared library opened for the life of the JVM, whose functions are bound by name. */
final class NativeLibrary {
    private final String name;
    private final SymbolLookup symbols;

    private NativeLibrary(String name, SymbolLookup symbols) {
        this.name = name;
        this.symbols = symbols;
    }

    /** The library at {@code file}. */
    static NativeLibrary open(Path file) {
        try {
            return new NativeLibrary(file.toString(), SymbolLookup.libraryLookup(file, Arena.global()));
        } catch (IllegalArgumentException e) {
            throw new CudaException("cannot load " + file + ": " + e.getMessage(), e);
        }
    }

    /** The library the dynamic loader finds by {@code soname} (e.g. the driver's {@code libcuda.so.1}). */
    static NativeLibrary byName(String soname) {
        try {
            return new NativeLibrary(soname, SymbolLookup.libraryLookup(soname, Arena.global()));
        } catch (IllegalArgumentException e) {
            throw new CudaException("cannot load " + soname + " (" + e.getMessage() + ")", e);
        }
    }

    /** A handle to function {@code symbol}. */
    MethodHandle function(String symbol, FunctionDescriptor signature) {
        return symbols.find(symbol).map(address -> Linker.nativeLinker().downcallHandle(address, signature))
                .orElseThrow(() -> new CudaException(name + " has no function " + symbol));
    }

    /** A handle to function {@code symbol} with its signature from {@code signatures}, the bindings' table. */
    MethodHandle function(String symbol, Map<String, FunctionDescriptor> signatures) {
        return function(symbol, signatures.get(symbol));
    }

    String name() {
        return name;
    }
}
