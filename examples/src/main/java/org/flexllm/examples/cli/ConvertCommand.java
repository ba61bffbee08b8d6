package org.flexllm.examples.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.flexllm.model.ModelConverter;
import org.flexllm.model.ModelConverter.Format;
import org.flexllm.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code flexllm convert}: a Hugging Face folder or a GGUF file to GGUF or to a safetensors folder, in a chosen
 * dtype ({@link ModelConverter}). Prints the written path.
 */
@Command(name = "convert", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = {"Convert a model between a Hugging Face folder and a GGUF file, storing its weights as --dtype.",
                "Matrices are rounded or quantized to the dtype; with a quantized dtype, vectors (norms, biases) stay"
                        + " f32 and matrices whose rows are not whole blocks become f16. The tokenizer goes along:"
                        + " llama.cpp's tokenizer.ggml.* keys plus the whole tokenizer.json in GGUF; tokenizer.json"
                        + " and tokenizer_config.json in a folder."})
final class ConvertCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR|FILE.gguf",
            description = "A Hugging Face model folder, a GGUF file, or a folder holding one.")
    private Path model;

    @Option(names = "--to", required = true, paramLabel = "FORMAT", description = "gguf or safetensors.")
    private Format to;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "TYPE", converter = DTypeOption.class,
            description = "f32, f16, bf16, q8_0, q4_0 (q4_k, q6_k where rows are whole 256-blocks); quantized only"
                    + " to gguf.")
    private DType dtype;

    @Option(names = "--out", required = true, paramLabel = "PATH",
            description = "The GGUF file, or the folder, to write.")
    private Path out;

    @Override
    public Integer call() {
        ModelConverter.convert(model, to, dtype, out);
        spec.commandLine().getOut().println(out);
        return 0;
    }
}
