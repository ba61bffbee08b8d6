/** The co-serving engine: the iteration loop that plans, batches, runs the model and delivers tokens. */
package org.flexllm.engine;
