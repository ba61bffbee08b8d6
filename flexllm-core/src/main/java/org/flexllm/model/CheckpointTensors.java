package org.flexllm.model;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.SequencedSet;
import org.flexllm.io.SafetensorsFile;
import org.flexllm.tensor.Shape;
import org.flexllm.tensor.Tensor;

/**
 * The tensors of a model folder's weight files, by name: the shards that {@code model.safetensors.index.json}
 * names, or else {@code model.safetensors}. Other safetensors files in the folder (adapters, stale or
 * consolidated copies) are never opened.
 */
final class CheckpointTensors implements TensorSource {
    static final String INDEX_FILE = "model.safetensors.index.json";
    static final String SINGLE_FILE = "model.safetensors";

    private final Map<String, SafetensorsFile> fileOf;
    private final List<Path> files;

    private CheckpointTensors(Map<String, SafetensorsFile> fileOf, List<Path> files) {
        this.fileOf = fileOf;
        this.files = files;
    }

    /** Maps every weight file of {@code folder} into {@code arena}, each once. */
    static CheckpointTensors open(Path folder, Arena arena) {
        List<Path> files = weightFiles(folder);
        Map<String, SafetensorsFile> fileOf = new HashMap<>();
        for (Path path : files) {
            SafetensorsFile file = SafetensorsFile.open(path, arena);
            for (String name : file.tensors().keySet()) {
                SafetensorsFile other = fileOf.putIfAbsent(name, file);
                if (other != null) {
                    throw new InvalidCheckpointException("tensor '" + name + "' is in both " + other.path()
                            + " and " + path + "; which one is meant is ambiguous");
                }
            }
        }
        return new CheckpointTensors(fileOf, files);
    }

    @Override
    public Tensor tensor(String name, Shape expected) {
        SafetensorsFile file = fileOf.get(name);
        if (file == null) {
            throw new MissingTensorException(name, files);
        }
        Tensor tensor = file.tensors().get(name);
        if (!tensor.shape().equals(expected)) {
            throw new TensorShapeException(name, expected, tensor.shape(), file.path());
        }
        return tensor;
    }

    private static List<Path> weightFiles(Path folder) {
        Path index = folder.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return shards(folder, index);
        }
        Path single = folder.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return List.of(single);
        }
        throw new InvalidCheckpointException("neither " + SINGLE_FILE + " nor " + INDEX_FILE + " is in " + folder);
    }

    /** The distinct shard files of the index's weight_map, in order of first mention. */
    private static List<Path> shards(Path folder, Path index) {
        ConfigFile json = ConfigFile.read(index);
        SequencedMap<String, String> weightMap = json.stringMap("weight_map");
        if (weightMap.isEmpty()) {
            throw json.error("weight_map", "is missing or empty");
        }
        SequencedSet<Path> shards = new LinkedHashSet<>();
        weightMap.forEach((tensor, shardName) -> {
            Path shard = folder.resolve(shardName);
            // A shard must be a file directly in the folder: an index must not make us map files elsewhere.
            if (!folder.equals(shard.getParent()) || !Files.isRegularFile(shard)) {
                throw new InvalidCheckpointException(index + ": weight_map entry '" + tensor + "' names '"
                        + shardName + "', which is not a file in " + folder);
            }
            shards.add(shard);
        });
        return List.copyOf(shards);
    }
}
