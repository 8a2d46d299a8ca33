/**
 * refrag-java core: the exception hierarchy and (in sub-packages) checkpoint loading, tokenization, the decoder /
 * encoder / policy SPIs, the generation loop and the REFRAG pipeline.
 */
package io.refrag.core;
