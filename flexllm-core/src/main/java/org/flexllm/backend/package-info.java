/** The {@link org.flexllm.backend.Backend} SPI: the primitive kernels the model graph is lowered onto, and the registry that picks a backend. */
package org.flexllm.backend;
