/**
 * Quality evaluation: held-out NLL of the tokens that follow a context (the paper's Table 1 protocol) and RAG
 * question answering (exact match and token F1), for no context, full context and REFRAG modes side by side, with
 * each mode's decoder input length and TTFT.
 */
package io.refrag.core.eval;
