/**
 * Service-provider interfaces the implementation modules fill in: decoders, chunk encoders, projectors and expansion
 * policies, with their {@link java.util.ServiceLoader} providers. Only plain Java types cross these interfaces.
 */
package io.refrag.core.spi;
