/** The model graph IR: values and ops, the decoder graph, compile passes, buffer planning and lowering onto a backend. */
package org.flexllm.graph;
