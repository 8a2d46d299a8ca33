/**
 * Service-provider factories the implementation modules register with {@link java.util.ServiceLoader}: decoders by
 * {@code model_type}, chunk encoders, projectors and expansion policies. {@link io.refrag.core.spi.Providers} finds
 * them, so core never depends on an implementation.
 */
package io.refrag.core.spi;
