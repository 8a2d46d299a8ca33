/**
 * refrag-java's façade: {@link io.refrag.core.Refrag}, the REFRAG pipeline, with its request, options, result and the
 * REFRAG folder manifest. The layers below it live in sub-packages: {@code model} (decoder, encoder, projector and
 * policy types), {@code spi} (their factories), {@code plan}, {@code chunk}, {@code cache}, {@code generate},
 * {@code tokenizer}, {@code checkpoint}, {@code json}, {@code tensor}, {@code train} (fine-tuning, with its own
 * {@code train.spi}) and {@code exception}.
 */
package io.refrag.core;
