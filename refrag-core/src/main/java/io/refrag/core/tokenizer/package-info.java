/** Text tokenization with character spans, backed by DJL's Hugging Face tokenizers (tokenizer.json). */
package io.refrag.core.tokenizer;
