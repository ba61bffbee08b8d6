/** File formats: safetensors reading (memory-mapped, validated) and writing. */
package org.flexllm.io;
