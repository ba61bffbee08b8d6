/**
 * SLO-customized speculative decoding (AdaServe): draft proposers, token trees, tree-mask verification.
 * Filled by the speculative-decoding issue.
 */
package org.flexllm.spec;
