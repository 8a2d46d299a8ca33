/**
 * A typed reader over JSON objects ({@code config.json}, {@code refrag.json}, training configs) whose errors name the
 * file, the key and the expected type.
 */
package io.refrag.core.json;
