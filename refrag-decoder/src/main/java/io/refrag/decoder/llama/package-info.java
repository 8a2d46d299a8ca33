/**
 * LLaMA as in Hugging Face's {@code modeling_llama.py}: {@link io.refrag.decoder.llama.LlamaConfig} →
 * weights ({@link io.refrag.decoder.llama.LlamaForCausalLM} and its modules) → per-request state
 * ({@link io.refrag.decoder.llama.KvCache}) → forward. Tensors are unbatched: {@code [seq, hidden]} activations,
 * {@code [heads, seq, headDim]} attention.
 */
package io.refrag.decoder.llama;
