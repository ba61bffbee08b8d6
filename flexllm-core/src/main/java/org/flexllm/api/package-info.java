/** The public API: {@link org.flexllm.api.LlmEngine} and its builder, requests, results and token streams. */
package org.flexllm.api;
