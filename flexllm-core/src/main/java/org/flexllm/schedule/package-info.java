/** Token accounting and the scheduling policy: sequences know how many of their tokens are computed; the scheduler hands out each iteration's token budget. */
package org.flexllm.schedule;
