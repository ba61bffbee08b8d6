/** New adapters initialised as PEFT initialises them, reproducibly from a seed. */
package org.flexllm.peft.init;
