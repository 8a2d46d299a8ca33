/**
 * The training SPI: what a decoder, encoder, projector or policy implements so that the training tasks can update and
 * save it. Serving never needs these types.
 */
package io.refrag.core.spi.train;
