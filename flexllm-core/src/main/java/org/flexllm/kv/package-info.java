/** The paged KV cache: fixed-size blocks, block tables, the allocator. */
package org.flexllm.kv;
