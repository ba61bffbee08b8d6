package org.flexllm.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The demo's run, short: its output says what was served and trained, and the numbers hold together. */
class DemoCommandTest {
    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void streamsRequestsWhileTheAdapterTrainsThenSummarizes() {
        Cli.Result r = Cli.run("demo", "--steps", "20", "--requests", "2", "--max-tokens", "8");
        assertEquals(0, r.exitCode(), r.err());
        List<String> lines = r.out().lines().toList();

        Matcher served = find(r.out(), "requests served: +(\\d+), (\\d+) within the SLO .*: ([\\d.]+)% attainment");
        int requests = Integer.parseInt(served.group(1));
        int met = Integer.parseInt(served.group(2));
        assertTrue(requests >= 2 && met <= requests, r.out());
        assertEquals(100.0 * met / requests, Double.parseDouble(served.group(3)), 0.05, r.out());
        for (int n = 1; n <= requests; n++) {
            assertEquals(1, count(lines, "\\[" + n + "] .*\\(done\\)"), "request " + n + "\n" + r.out());
        }
        assertEquals(0, count(lines, "\\[" + (requests + 1) + "] .*"), r.out());

        assertEquals(1, count(lines, "\\[finetune] step 20/20 +loss [\\d.]+"), r.out());
        Matcher finetuning = find(r.out(), "finetuning: +20 steps, (\\d+) tokens in [\\d.]+ s: [\\d.]+ tokens/s;"
                + " loss ([\\d.]+) -> ([\\d.]+)");
        assertTrue(Long.parseLong(finetuning.group(1)) > 0, r.out());
        assertTrue(Double.parseDouble(finetuning.group(3)) < Double.parseDouble(finetuning.group(2)), r.out());
        Matcher iterations = find(r.out(), "iterations: +(\\d+), (\\d+) with inference and finetuning together");
        assertTrue(Long.parseLong(iterations.group(2)) > 0, r.out());
        find(r.out(), "latency p50: +TTFT [\\d.]+ ms, TPOT [\\d.]+ ms");
        find(r.out(), "facts learned: +\\d+ of " + DemoFactsTest.facts().size() + " answered exactly");
    }

    /** The short run that CI's fresh-clone check uses: a fixed, small number of steps, whatever --steps says. */
    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void quickRunsAFewSteps() {
        Cli.Result r = Cli.run("demo", "--quick", "--steps", "150", "--requests", "1", "--max-tokens", "4");
        assertEquals(0, r.exitCode(), r.err());
        int steps = 30;
        assertEquals(1, count(r.out().lines().toList(), "\\[finetune] step " + steps + "/" + steps + " +loss [\\d.]+"),
                r.out());
        find(r.out(), "finetuning: +" + steps + " steps, ");
    }

    /** The same run with the model, the adapter and the job split over two tensor-parallel ranks. */
    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void quickRunsOnTwoRanks() {
        Cli.Result r = Cli.run("demo", "--quick", "--requests", "1", "--max-tokens", "4", "--tp", "2");
        assertEquals(0, r.exitCode(), r.err());
        find(r.out(), "finetuning: +" + DemoCommand.QUICK_STEPS + " steps, ");
        find(r.out(), "iterations: +\\d+, \\d+ with inference and finetuning together");
    }

    /** Enough steps that the adapter answers with what it was taught, where the base model does not. */
    @Test
    @Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void theTrainedAdapterAnswersWithTheFacts() {
        Cli.Result r = Cli.run("demo", "--steps", "150", "--requests", "1", "--max-tokens", "4");
        assertEquals(0, r.exitCode(), r.err());
        List<DemoFacts.Fact> facts = DemoFactsTest.facts();
        int exact = 0;
        for (DemoFacts.Fact fact : facts) {
            Matcher answers = find(r.out(), Pattern.quote(fact.prompt()) + "\n    adapter: \"(.*)\"( +\\(exact\\))?"
                    + "\n    base: +\"(.*)\"");
            boolean marked = answers.group(2) != null;
            assertEquals(marked, answers.group(1).equals(fact.completion()), r.out());
            assertNotEquals(fact.completion(), answers.group(3), r.out());
            exact += marked ? 1 : 0;
        }
        assertTrue(exact >= 1, r.out());
        find(r.out(), "facts learned: +" + exact + " of " + facts.size() + " answered exactly");
    }

    @Test
    void optionsMustBePositive() {
        Cli.Result r = Cli.run("demo", "--requests", "0");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--requests must be at least 1, is 0"), r.err());
    }

    @Test
    void controlCharactersAreEscaped() {
        assertEquals("a\\u0001b\\u000a\\u202ec", RequestStream.escape("a\u0001b\n\u202Ec"));
    }

    private static Matcher find(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), "no match for " + regex + " in\n" + text);
        return m;
    }

    private static long count(List<String> lines, String regex) {
        return lines.stream().filter(l -> l.matches(regex)).count();
    }
}
