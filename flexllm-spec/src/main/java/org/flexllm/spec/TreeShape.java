package org.flexllm.spec;

/**
 * How big a speculation tree may grow: {@code depth} levels below the root, each frontier node expanded with
 * the draft's {@code topK} children, the best {@code width} nodes kept per level.
 *
 * @param width the most nodes kept per level, at least 1
 * @param depth the most levels below the root, at least 1
 * @param topK  the children proposed per expanded node, at least 1
 */
public record TreeShape(int width, int depth, int topK) {
    public TreeShape {
        if (width < 1 || depth < 1 || topK < 1) {
            throw new InvalidSpeculationException("a speculation tree needs width, depth and top-k of at least 1,"
                    + " got width " + width + ", depth " + depth + ", top-k " + topK);
        }
    }

    /** A chain of {@code k} draft tokens (vLLM-style): width 1, depth k, top-1. */
    public static TreeShape chain(int k) {
        return new TreeShape(1, k, 1);
    }

    /** A fixed tree (SpecInfer-style): every level keeps {@code width} nodes, each node proposes width children. */
    public static TreeShape tree(int width, int depth) {
        return new TreeShape(width, depth, width);
    }

    /** The most nodes a tree of this shape has, the root included. */
    public int maxNodes() {
        return 1 + width * depth;
    }
}
