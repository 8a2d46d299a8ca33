/**
 * Hugging Face checkpoint folders: {@code config.json}, (sharded) {@code *.safetensors}, memory-mapped tensor reading,
 * a weight loader that checks names, shapes and consumption, and an atomic safetensors writer.
 */
package io.refrag.core.checkpoint;
