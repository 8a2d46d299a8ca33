/**
 * The exception hierarchy: one unchecked root, {@link io.refrag.core.exception.RefragException}, with subclasses for a
 * bad request, a model that cannot load and an input longer than the decoder's context. Messages say what was wrong and
 * what is allowed.
 */
package io.refrag.core.exception;
