package org.flexllm.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import java.io.Serial;
import java.util.AbstractList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Jinja's {@code for} with a budget: all the loops of one render together run at most {@value #MAX_ITERATIONS}
 * iterations, then the render fails. Jinjava cannot be interrupted and loops multiply: three nested loops over
 * {@code range(1000)} (each range capped at 1000) are 10⁹ iterations, a chat template from a file that never
 * renders. Real templates loop over the messages and their parts, thousands of iterations at most; Jinjava runs
 * some 10⁵ loop iterations a second, so the budget also bounds the render to about a second.
 */
final class BoundedForTag extends ForTag {
    static final int MAX_ITERATIONS = 100_000;
    @Serial
    private static final long serialVersionUID = 1L;
    /** Iterations left to the render on this thread; absent outside {@link #within}. */
    private static final ThreadLocal<int[]> LEFT = new ThreadLocal<>();

    /** Runs {@code render} with a fresh budget. */
    static <T> T within(Supplier<T> render) {
        LEFT.set(new int[] {MAX_ITERATIONS});
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
                throw new ChatTemplateException("the template's loops ran more than " + MAX_ITERATIONS
                        + " iterations: not a chat template that ends");
            }
            return list.get(index);
        }

        @Override
        public int size() {
            return list.size();
        }
    }
}
