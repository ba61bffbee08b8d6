package org.flexllm.peft.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import org.flexllm.io.Json;
import org.flexllm.tokenizer.ChatMessage;
import org.flexllm.tokenizer.ChatTemplateException;
import org.flexllm.tokenizer.Tokenizer;

/**
 * Reads a JSONL finetuning dataset into {@link TrainingExample}s, line by line, in one of the
 * {@link DatasetFormat}s (given, or detected from the first line). Text is tokenized with the special tokens
 * the tokenizer's post-processor adds (such as BOS), and the tokenizer's EOS, when it has one, ends text and
 * completions. Sequences longer than the limit are truncated and counted, never dropped. Blank lines are skipped.
 */
public final class DatasetReader {
    private final Optional<Tokenizer> tokenizer;
    private final int vocabSize;
    private final int maxLength;

    private DatasetReader(Optional<Tokenizer> tokenizer, int vocabSize, int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("max sequence length = " + maxLength + ": must be >= 2 (a token"
                    + " and the one it predicts)");
        }
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.maxLength = maxLength;
    }

    /**
     * A reader of every format.
     *
     * @param vocabSize the model's vocabulary size; token ids must be below it
     * @param maxLength the sequence-length limit (at least 2)
     */
    public static DatasetReader of(Tokenizer tokenizer, int vocabSize, int maxLength) {
        return new DatasetReader(Optional.of(tokenizer), vocabSize, maxLength);
    }

    /** A reader of {@link DatasetFormat#TOKENS} files only, which need no tokenizer. */
    public static DatasetReader tokensOnly(int vocabSize, int maxLength) {
        return new DatasetReader(Optional.empty(), vocabSize, maxLength);
    }

    /**
     * Reads {@code file}, detecting its format from the first line.
     *
     * @throws DatasetFormatException naming the file and line of the first malformed line
     * @throws EmptyDatasetException  when the file has no example or no label that counts in the loss
     */
    public Dataset read(Path file) {
        return read(file, Optional.empty());
    }

    /** Reads {@code file} in {@code format}; see {@link #read(Path)}. */
    public Dataset read(Path file, DatasetFormat format) {
        return read(file, Optional.of(format));
    }

    private Dataset read(Path file, Optional<DatasetFormat> given) {
        List<TrainingExample> examples = new ArrayList<>();
        int truncated = 0;
        Optional<DatasetFormat> format = given;
        long number = 0;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String text = reader.readLine(); text != null; text = reader.readLine()) {
                number++;
                if (text.isBlank()) {
                    continue;
                }
                JsonLine line = parse(file, number, text);
                format = format.or(() -> Optional.of(DatasetFormat.detect(line)));
                TrainingExample example = checkedIds(encode(format.get(), line), line);
                truncated += example.length() > maxLength ? 1 : 0;
                examples.add(example.truncated(maxLength));
            }
        } catch (CharacterCodingException e) {
            throw new DatasetFormatException(file, number + 1, "not UTF-8 text: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dataset " + file, e);
        }
        Dataset dataset = new Dataset(examples, truncated);
        if (examples.isEmpty()) {
            throw new EmptyDatasetException(file + ": no examples (the file has no non-blank line)");
        }
        if (dataset.targets() == 0) {
            throw new EmptyDatasetException(file + ": none of the " + examples.size() + " examples has a trained"
                    + " label after its first token (prompts only, or everything cut off at " + maxLength
                    + " tokens)");
        }
        return dataset;
    }

    private static JsonLine parse(Path file, long number, String text) {
        JsonNode json;
        try {
            json = Json.parse(text);
        } catch (JsonProcessingException e) {
            throw new DatasetFormatException(file, number, "not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (!json.isObject()) {
            throw new DatasetFormatException(file, number, "not a JSON object");
        }
        return new JsonLine(file, number, json);
    }

    private TrainingExample encode(DatasetFormat format, JsonLine line) {
        return switch (format) {
            case TEXT -> text(tokenizer(format, line), line);
            case COMPLETION -> completion(tokenizer(format, line), line);
            case CHAT -> chat(tokenizer(format, line), line);
            case TOKENS -> tokens(line);
        };
    }

    private static TrainingExample text(Tokenizer tokenizer, JsonLine line) {
        return TrainingExample.allTrained(withEos(tokenizer, tokenizer.encode(line.text("text"), true)));
    }

    private static TrainingExample completion(Tokenizer tokenizer, JsonLine line) {
        int[] prompt = tokenizer.encode(line.text("prompt"), true);
        int[] completion = withEos(tokenizer, tokenizer.encode(line.text("completion"), false));
        int[] ids = IntStream.concat(Arrays.stream(prompt), Arrays.stream(completion)).toArray();
        int[] labels = ids.clone();
        Arrays.fill(labels, 0, prompt.length, TrainingExample.IGNORE);
        return new TrainingExample(ids, labels);
    }

    private static TrainingExample chat(Tokenizer tokenizer, JsonLine line) {
        if (!tokenizer.hasChatTemplate()) {
            throw line.error("the tokenizer has no chat template to render 'messages' with");
        }
        List<ChatMessage> messages = new ArrayList<>();
        for (int i = 0; i < line.array("messages").size(); i++) {
            JsonLine message = line.element("messages", i);
            messages.add(new ChatMessage(message.text("role"), message.text("content")));
        }
        if (messages.stream().noneMatch(m -> m.role().equals("assistant"))) {
            throw line.error("the conversation has no assistant message to train on");
        }
        try {
            return new ChatEncoding(tokenizer).encode(messages, line);
        } catch (ChatTemplateException e) {
            throw new DatasetFormatException(line.file(), line.number(), e.getMessage(), e);
        }
    }

    private static TrainingExample tokens(JsonLine line) {
        int[] ids = line.ids("input_ids");
        int[] labels = line.optionalIds("labels").orElse(ids);
        if (labels.length != ids.length) {
            throw line.error("'labels' has " + labels.length + " entries but 'input_ids' has " + ids.length);
        }
        return new TrainingExample(ids, labels);
    }

    private TrainingExample checkedIds(TrainingExample example, JsonLine line) {
        int[] ids = example.inputIds();
        int[] labels = example.labels();
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= vocabSize) {
                throw line.error("token id " + ids[t] + " at position " + t + " is outside the vocabulary [0, "
                        + vocabSize + ")");
            }
            if (labels[t] != TrainingExample.IGNORE && (labels[t] < 0 || labels[t] >= vocabSize)) {
                throw line.error("label " + labels[t] + " at position " + t + " is neither " + TrainingExample.IGNORE
                        + " nor inside the vocabulary [0, " + vocabSize + ")");
            }
        }
        return example;
    }

    /** {@code ids} followed by the tokenizer's EOS, when it has one. */
    private static int[] withEos(Tokenizer tokenizer, int[] ids) {
        OptionalInt eos = tokenizer.eosId();
        return eos.isPresent() ? IntStream.concat(Arrays.stream(ids), IntStream.of(eos.getAsInt())).toArray() : ids;
    }

    private Tokenizer tokenizer(DatasetFormat format, JsonLine line) {
        return tokenizer.orElseThrow(() -> line.error("the " + format + " format needs a tokenizer"));
    }
}
