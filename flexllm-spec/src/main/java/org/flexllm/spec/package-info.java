/**
 * SLO-customized speculative decoding (AdaServe, arXiv 2501.12162) over SpecInfer-style token trees: the
 * engine-independent algorithms.
 *
 * <ul>
 *   <li>Drafting: {@link org.flexllm.spec.Drafter} with {@link org.flexllm.spec.NgramDrafter} (prompt lookup)
 *       and {@link org.flexllm.spec.OracleDrafter} (benchmarks only); {@link org.flexllm.spec.DraftSpec} reads
 *       the {@code --draft} forms.</li>
 *   <li>Trees: {@link org.flexllm.spec.TokenTree}, grown by {@link org.flexllm.spec.TreeConstruction} within a
 *       {@link org.flexllm.spec.TreeShape}, in heap order so that any prefix is a connected subtree.</li>
 *   <li>Selection: {@link org.flexllm.spec.SpecPolicy}; {@link org.flexllm.spec.AdaServeSelector} sizes each
 *       request's prefix from its TPOT within the iteration's token budget.</li>
 *   <li>Verification: {@link org.flexllm.spec.Verifier}, lossless for greedy and sampled decoding.</li>
 * </ul>
 */
package org.flexllm.spec;
