/** Model descriptions and weights: HF config parsing, checkpoint binding, rotary embeddings, synthetic models. */
package org.flexllm.model;
