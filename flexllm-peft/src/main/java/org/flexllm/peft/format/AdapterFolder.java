package org.flexllm.peft.format;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.flexllm.graph.Projection;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.io.SafetensorsWriter;
import org.flexllm.model.ModelConfig;
import org.flexllm.peft.Adapter;
import org.flexllm.peft.AdapterConfig;
import org.flexllm.peft.AtomicFiles;
import org.flexllm.tensor.DType;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * A Hugging Face PEFT adapter folder: {@code adapter_config.json} and {@code adapter_model.safetensors}.
 *
 * <p>Reading checks the tensors against the model: every tensor the config implies is present with exactly
 * PEFT's shape, and there is no other. Writing replaces the folder as a whole: both files are written into a
 * temporary sibling folder and forced to disk, then the old folder is renamed aside, the new one renamed into
 * place and the old one deleted. A crash leaves the old adapter or the new one, each complete (or, between the
 * two renames, both under hidden sibling names), never a folder with one new file and one old.
 */
public final class AdapterFolder {
    /** The weights file of an adapter folder. */
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    private static final String PICKLE_FILE = "adapter_model.bin";
    private static final Set<String> ADAPTER_FILES = Set.of(AdapterConfig.FILE_NAME, WEIGHTS_FILE);

    private AdapterFolder() {}

    /**
     * Reads the adapter in {@code folder} for a model of {@code model}, its tensors widened to f32 into
     * {@code arena} (the file is not kept mapped).
     *
     * @throws AdapterMismatchException naming the tensor, its shape and the expected one when the tensors do not
     *                                  fit the model and the config
     * @throws AdapterFolderException   when the weights file is missing
     * @throws org.flexllm.peft.InvalidAdapterConfigException when {@code adapter_config.json} is missing or wrong
     * @throws org.flexllm.peft.UnsupportedAdapterException   when the config uses a feature we do not implement
     */
    public static Adapter read(Path folder, ModelConfig model, Arena arena) {
        AdapterConfig config = AdapterConfig.read(folder);
        Path file = weightsFile(folder);
        List<AdapterSlot> slots = AdapterSlot.of(config, model);
        try (Arena mapping = Arena.ofConfined()) {
            SafetensorsFile stored = SafetensorsFile.open(file, mapping);
            checkNoUnexpected(file, stored, slots, config, model);
            SequencedMap<String, Tensor> tensors = new LinkedHashMap<>();
            for (AdapterSlot slot : slots) {
                tensors.put(slot.key(), widened(expected(file, stored, slot), arena));
            }
            return new Adapter(config, tensors);
        }
    }

    /** Writes {@code adapter}'s config and tensors, as {@link #write(Path, AdapterConfig, Collection)} does. */
    public static void write(Path folder, Adapter adapter) {
        write(folder, adapter.config(), adapter.tensors().values());
    }

    /**
     * Writes an adapter folder: {@code config} as {@code adapter_config.json} and {@code tensors} (in their
     * order and dtype) as {@code adapter_model.safetensors}, replacing {@code folder} as a whole.
     *
     * @throws AdapterFolderException when {@code folder} exists and holds files that are not an adapter's
     * @throws UncheckedIOException   when writing fails; {@code folder} is then unchanged
     */
    public static void write(Path folder, AdapterConfig config, Collection<Tensor> tensors) {
        Path target = folder.toAbsolutePath().normalize();
        checkReplaceable(target);
        Path staged = AtomicFiles.temporarySibling(target);
        try {
            Files.createDirectories(staged);
            SafetensorsWriter.write(staged.resolve(WEIGHTS_FILE), tensors);
            config.write(staged);
            AtomicFiles.forceDirectory(staged);
            replace(target, staged);
        } catch (IOException e) {
            deleteQuietly(staged);
            throw new UncheckedIOException("cannot write adapter folder " + target, e);
        }
    }

    private static Path weightsFile(Path folder) {
        Path file = folder.resolve(WEIGHTS_FILE);
        if (Files.isRegularFile(file)) {
            return file;
        }
        throw new AdapterFolderException(folder, Files.exists(folder.resolve(PICKLE_FILE))
                ? "holds " + PICKLE_FILE + " (a pickle) instead of " + WEIGHTS_FILE + "; convert it with PEFT"
                        + " (save_pretrained(..., safe_serialization=True))"
                : "has no " + WEIGHTS_FILE);
    }

    private static void checkNoUnexpected(Path file, SafetensorsFile stored, List<AdapterSlot> slots,
            AdapterConfig config, ModelConfig model) {
        Set<String> keys = slots.stream().map(AdapterSlot::key).collect(Collectors.toSet());
        List<String> unexpected = stored.tensors().keySet().stream().filter(k -> !keys.contains(k)).toList();
        if (!unexpected.isEmpty()) {
            throw new AdapterMismatchException(file, "unexpected tensor '" + unexpected.getFirst() + "'"
                    + (unexpected.size() > 1 ? " (and " + (unexpected.size() - 1) + " more)" : "")
                    + ": a " + config.method() + " adapter on " + targetNames(config) + " of a model with"
                    + " num_hidden_layers = " + model.numLayers() + " has only the " + slots.size() + " tensors "
                    + slots.getFirst().key() + " ... " + slots.getLast().key());
        }
    }

    private static Tensor expected(Path file, SafetensorsFile stored, AdapterSlot slot) {
        Tensor tensor = stored.get(slot.key()).orElseThrow(() -> new AdapterMismatchException(file,
                "tensor '" + slot.key() + "' is missing; the config and the model need it with shape "
                        + slot.explainShape()));
        if (!tensor.shape().equals(slot.shape())) {
            throw new AdapterMismatchException(file, "tensor '" + slot.key() + "' has shape " + tensor.shape()
                    + " but " + slot.shape() + " is expected: " + slot.explainShape()
                    + " (r from adapter_config.json, the widths from the model's config.json)");
        }
        return tensor;
    }

    /** A copy of {@code tensor} as F32 in {@code arena}. */
    private static Tensor widened(Tensor tensor, Arena arena) {
        Shape shape = tensor.shape();
        MemorySegment data = arena.allocate(ValueLayout.JAVA_FLOAT, shape.elements());
        if (tensor.dtype() == DType.F32) {
            MemorySegment.copy(tensor.data(), 0, data, 0, data.byteSize());
        } else {
            for (long i = 0; i < shape.elements(); i++) {
                data.setAtIndex(ValueLayout.JAVA_FLOAT, i, tensor.getFloat(i));
            }
        }
        return new Tensor(tensor.name(), DType.F32, shape, data);
    }

    private static String targetNames(AdapterConfig config) {
        return config.targets().stream().map(Projection::moduleName).collect(Collectors.joining(", "));
    }

    /** Refuses to replace a folder that holds anything but an adapter's files: the write would delete it. */
    private static void checkReplaceable(Path target) {
        if (!Files.exists(target)) {
            return;
        }
        if (!Files.isDirectory(target)) {
            throw new AdapterFolderException(target, "exists and is not a folder");
        }
        try (Stream<Path> entries = Files.list(target)) {
            List<String> foreign = entries.map(p -> p.getFileName().toString())
                    .filter(name -> !ADAPTER_FILES.contains(name)).sorted().toList();
            if (!foreign.isEmpty()) {
                throw new AdapterFolderException(target, "holds " + foreign + " besides an adapter; writing"
                        + " replaces the whole folder, so give the adapter a folder of its own");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + target, e);
        }
    }

    private static void replace(Path target, Path staged) throws IOException {
        Path parent = target.getParent();
        if (Files.exists(target)) {
            Path old = AtomicFiles.temporarySibling(target);
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            AtomicFiles.forceDirectory(parent);
            deleteQuietly(old);
        } else {
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            AtomicFiles.forceDirectory(parent);
        }
    }

    /** Deletes a folder we created and its files; leftovers are hidden temporary names, harmless if they stay. */
    private static void deleteQuietly(Path folder) {
        try (Stream<Path> walk = Files.walk(folder)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // What is left is a hidden temporary name beside the adapter folder; it does no harm.
        }
    }
}
