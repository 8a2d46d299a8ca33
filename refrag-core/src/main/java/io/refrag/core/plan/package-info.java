/**
 * The prompt plan: the document-order layout of text tokens and context chunks with the expanded set, built once per
 * request and rendered for serving and for training alike.
 */
package io.refrag.core.plan;
