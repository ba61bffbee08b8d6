package org.flexllm.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import java.io.Serial;
import java.util.AbstractList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Jinja's {@code for} with a budget: all the loops of one render together run at most {@link #budget} iterations
 * for the conversation, then the render fails. Jinjava cannot be interrupted and loops multiply: three nested loops
 * over {@code range(1000)} (each range capped at 1000) are 10⁹ iterations, a chat template from a file that never
 * renders. Real templates loop over the messages, their parts and tool calls: a few iterations per message. Jinjava
 * runs 10⁴ to 10⁶ loop iterations a second (cold JIT on loaded cores to warm), so the base budget ends a runaway
 * template in about a second.
 */
final class BoundedForTag extends ForTag {
    static final int BASE_ITERATIONS = 10_000;
    static final int ITERATIONS_PER_MESSAGE = 100;
    @Serial
    private static final long serialVersionUID = 1L;
    /** Iterations left to the render on this thread; absent outside {@link #within}. */
    private static final ThreadLocal<int[]> LEFT = new ThreadLocal<>();

    /** The iterations a render of a conversation of {@code messages} messages may run. */
    static int budget(int messages) {
        return BASE_ITERATIONS + ITERATIONS_PER_MESSAGE * messages;
    }

    /** Runs {@code render} with a fresh budget of {@code iterations}. */
    static <T> T within(int iterations, Supplier<T> render) {
        LEFT.set(new int[] {iterations});
        try {
            return render.get();
        } finally {
            LEFT.remove();
        }
    }

    @Override
    public String renderForCollection(TagNode node, JinjavaInterpreter interpreter, List<String> loopVars,
                                      Object collection) {
        // Lists are what loops run long over (range(), messages, split strings); maps and strings are bounded by
        // Jinjava's own size limits.
        Object counted = collection instanceof List<?> list && LEFT.get() != null ? new Counted<>(list) : collection;
        return super.renderForCollection(node, interpreter, loopVars, counted);
    }

    /** A list whose every element read spends one iteration of the render's budget. */
    private static final class Counted<E> extends AbstractList<E> {
        private final List<E> list;

        Counted(List<E> list) {
            this.list = list;
        }

        @Override
        public E get(int index) {
            int[] left = LEFT.get();
            if (left != null && --left[0] < 0) {
                throw new ChatTemplateException("the template's loops ran more iterations than the conversation"
                        + " can need (" + BASE_ITERATIONS + " + " + ITERATIONS_PER_MESSAGE + " per message): not a chat"
                        + " template that ends");
            }
            return list.get(index);
        }

        @Override
        public int size() {
            return list.size();
        }
    }
}
