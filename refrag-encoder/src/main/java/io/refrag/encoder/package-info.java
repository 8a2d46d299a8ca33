/**
 * Chunk encoders and the projection layer. {@link io.refrag.encoder.BertModel} implements HF's {@code BertModel} and
 * {@code RobertaModel} with one code path (they differ only in position offset, padding id and weight prefix);
 * {@link io.refrag.encoder.MlpProjector} maps encoder vectors into the decoder's embedding space.
 */
package io.refrag.encoder;
