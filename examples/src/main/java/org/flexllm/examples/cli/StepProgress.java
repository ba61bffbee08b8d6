package org.flexllm.examples.cli;

import java.io.Console;
import java.io.PrintWriter;
import org.flexllm.peft.train.StepRecord;

/**
 * Prints a finetuning job's steps as they finish, on the job's thread: one JSON line each, a progress bar
 * redrawn in place, or a plain line each. The ETA is the mean step time of this run times the steps left.
 */
final class StepProgress {
    private static final int BAR_WIDTH = 30;
    /** ANSI: erase to the end of the line, so that a shorter redraw leaves nothing of the longer one. */
    private static final String ERASE_LINE_END = "\u001b[K";

    /** How steps are printed. */
    enum Style {
        JSON, BAR, LINES;

        /** JSON when asked for, else a bar when stdout is a terminal, else lines. */
        static Style of(boolean json) {
            Console console = System.console();
            return json ? JSON : console != null && console.isTerminal() ? BAR : LINES;
        }
    }

    /** A step as JSON: {@code {"step":n,"loss":x,"tokens_per_s":y}}. */
    record StepLine(int step, double loss, double tokensPerS) {}

    private final Style style;
    private final PrintWriter out;
    private double seconds;
    private int steps;

    StepProgress(Style style, PrintWriter out) {
        this.style = style;
        this.out = out;
    }

    void step(StepRecord r, int totalSteps) {
        seconds += r.tokens() / r.tokensPerSecond();
        steps++;
        long eta = Math.round(seconds / steps * (totalSteps - r.step()));
        String status = String.format("step %d/%d  loss %.4f  lr %.3g  %.0f tokens/s  ETA %s", r.step(), totalSteps,
                r.loss(), r.lr(), r.tokensPerSecond(), clock(eta));
        switch (style) {
            case JSON -> out.println(Json.line(new StepLine(r.step(), r.loss(), r.tokensPerSecond())));
            case BAR -> out.print("\r" + bar(r.step(), totalSteps) + " " + status + ERASE_LINE_END);
            case LINES -> out.println(status);
        }
        out.flush();
    }

    /** Ends the bar's line. */
    void finish() {
        if (style == Style.BAR && steps > 0) {
            out.println();
            out.flush();
        }
    }

    private static String bar(int step, int totalSteps) {
        int filled = BAR_WIDTH * step / totalSteps;
        return "[" + "#".repeat(filled) + " ".repeat(BAR_WIDTH - filled) + "]";
    }

    private static String clock(long seconds) {
        return String.format("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60);
    }
}
