/**
 * Hugging Face tokenizers in Java: {@link org.flexllm.tokenizer.Tokenizer} reads {@code tokenizer.json}
 * (BPE, byte-level or SentencePiece-style) and reproduces the Rust {@code tokenizers} library's ids and
 * texts, decodes token streams without splitting characters ({@link org.flexllm.tokenizer.StreamDecoder}),
 * and renders the chat template of {@code tokenizer_config.json}.
 */
package org.flexllm.tokenizer;
