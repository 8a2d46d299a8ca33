/**
 * The generation loop shared by every decoder: prefill, host-side sampling (greedy, temperature, top-k, top-p,
 * seeded), stop tokens, streaming, and the per-request metrics (TTFT, TTIT, throughput).
 */
package io.refrag.core.generate;
