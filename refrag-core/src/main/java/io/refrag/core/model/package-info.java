/**
 * The model types an application or an implementation module works with: the decoder ({@code CausalDecoder}, its
 * per-request {@code DecoderSession} and {@code DecoderInput}), the chunk encoder, the projector and the expansion
 * policy, with the options they load with. Only plain Java types cross these interfaces; the factories that create them
 * are in {@code io.refrag.core.spi}.
 */
package io.refrag.core.model;
