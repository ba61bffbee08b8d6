package org.flexllm.examples.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A request trace to replay: CSV lines {@code timestamp_s,prompt_len,output_len}, timestamps in seconds from the
 * start and in order, lengths in tokens. A first line that names the columns is skipped; so are blank lines.
 */
public final class TraceFile {
    /** The columns, in order, as a header line names them. */
    public static final List<String> COLUMNS = List.of("timestamp_s", "prompt_len", "output_len");

    private TraceFile() {}

    /**
     * The arrivals of {@code file}, in order.
     *
     * @throws TraceFormatException naming the line and the field of the first line that is not a valid arrival
     */
    public static List<Arrival> read(Path file) {
        List<Arrival> arrivals = new ArrayList<>();
        long number = 0;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String text = reader.readLine(); text != null; text = reader.readLine()) {
                number++;
                if (text.isBlank() || number == 1 && isHeader(text)) {
                    continue;
                }
                Arrival arrival = new Line(file, number, text).arrival();
                if (!arrivals.isEmpty() && arrival.timeS() < arrivals.getLast().timeS()) {
                    throw new TraceFormatException(file, number, "timestamp_s " + arrival.timeS()
                            + " is earlier than the line before's " + arrivals.getLast().timeS()
                            + ": sort the trace by time");
                }
                arrivals.add(arrival);
            }
        } catch (CharacterCodingException e) {
            throw new TraceFormatException(file, number + 1, "not UTF-8 text: " + e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read trace " + file, e);
        }
        return List.copyOf(arrivals);
    }

    private static boolean isHeader(String text) {
        return List.of(text.split(",", -1)).stream().map(String::strip).toList().equals(COLUMNS);
    }

    /** One line split into its fields, each parsed with the line's position at hand for the error. */
    private record Line(Path file, long number, String[] fields) {
        Line(Path file, long number, String text) {
            this(file, number, text.split(",", -1));
        }

        Arrival arrival() {
            if (fields.length != COLUMNS.size()) {
                throw error("expected " + COLUMNS.size() + " fields " + String.join(",", COLUMNS) + ", found "
                        + fields.length);
            }
            double time = timestamp(fields[0].strip());
            return new Arrival(time, length(1), length(2));
        }

        private double timestamp(String field) {
            try {
                double time = Double.parseDouble(field);
                if (Double.isFinite(time) && time >= 0) {
                    return time;
                }
            } catch (NumberFormatException e) {
                // reported below with the field's name
            }
            throw error("timestamp_s '" + field + "' is not a number of seconds >= 0");
        }

        private int length(int column) {
            String field = fields[column].strip();
            try {
                int tokens = Integer.parseInt(field);
                if (tokens >= 1) {
                    return tokens;
                }
            } catch (NumberFormatException e) {
                // reported below with the field's name
            }
            throw error(COLUMNS.get(column) + " '" + field + "' is not a whole number of tokens >= 1");
        }

        private TraceFormatException error(String problem) {
            return new TraceFormatException(file, number, problem);
        }
    }
}
