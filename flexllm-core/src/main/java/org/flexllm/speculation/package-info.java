/**
 * Speculative decoding's contract with the engine: a {@link org.flexllm.speculation.Speculator} drafts a token
 * tree per decoding request ({@link org.flexllm.speculation.DraftTree}) inside the iteration's budget
 * ({@link org.flexllm.speculation.TreeRound}); the engine scores every tree node in the iteration's one forward
 * pass, beside the other requests' rows and a finetuning window; the speculator then says which path the target
 * accepts ({@link org.flexllm.speculation.Verdict}), and the engine keeps that path's KV entries and releases the
 * rest. The drafting and verification rules live in {@code flexllm-spec}; core only carries trees.
 */
package org.flexllm.speculation;
