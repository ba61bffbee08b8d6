package org.flexllm.examples.cli;

import org.flexllm.tensor.DType;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Reads a {@code --dtype} as users write it: {@code bf16}, {@code q8_0}, case-insensitive. */
final class DTypeOption implements ITypeConverter<DType> {
    @Override
    public DType convert(String value) {
        try {
            return DType.parse(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
