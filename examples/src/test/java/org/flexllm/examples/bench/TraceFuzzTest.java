package org.flexllm.examples.bench;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import org.flexllm.FuzzInputs;
import org.flexllm.FuzzTarget;

/**
 * Any bytes as the CSV trace of {@code bench coserve --trace}: {@link TraceFile#read} gives the arrivals, or a
 * {@link TraceFormatException}. Seeds: {@code TraceFuzzTestInputs}.
 */
class TraceFuzzTest {
    // libFuzzer's dictionary format takes no line breaks; the seeds have them.
    @DictionaryEntries({"timestamp_s,prompt_len,output_len", ",", "1e300", "NaN", "-0.0", "0x1p3", "2147483648",
            "Infinity"})
    @FuzzTarget
    void read(byte[] bytes) {
        FuzzInputs.resultOr(TraceFormatException.class, () -> TraceFile.read(FuzzInputs.file("trace.csv", bytes)));
    }
}
