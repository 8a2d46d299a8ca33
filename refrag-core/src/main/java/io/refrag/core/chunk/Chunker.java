package io.refrag.core.chunk;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.model.Chunk;
import io.refrag.core.model.Compression;
import io.refrag.core.tokenizer.TextTokenizer;
import io.refrag.core.tokenizer.Tokenized;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits passages into chunks of k decoder tokens. Each passage is tokenized on its own (so no chunk spans two
 * passages) without special tokens; each chunk keeps its token ids and the source-text span they cover.
 *
 * <p>With byte-fallback tokenizers a character may be split over several tokens; when a chunk boundary falls inside
 * it, that character's text belongs to both neighbouring chunks' spans, while the token ids never overlap.
 */
public final class Chunker {
    private final TextTokenizer decoderTokenizer;

    /** @param decoderTokenizer the decoder's tokenizer, building without BOS */
    public Chunker(TextTokenizer decoderTokenizer) {
        this.decoderTokenizer = decoderTokenizer;
    }

    /**
     * @param passages retrieved passages, each non-blank
     * @param k decoder tokens per chunk, at least 1
     * @return chunks in document order
     * @throws InvalidRequestException for k &lt; 1, no passages or a blank passage
     */
    public List<Chunk> chunk(List<String> passages, int k) {
        Compression.requireK(k);
        if (passages.isEmpty()) {
            throw new InvalidRequestException("no passages to chunk: give at least one non-empty passage");
        }
        for (int p = 0; p < passages.size(); p++) {
            if (passages.get(p) == null || passages.get(p).isBlank()) {
                throw new InvalidRequestException("passage " + p + " is empty; every passage must hold text");
            }
        }
        List<Tokenized> tokenized = decoderTokenizer.encodeBatch(passages);
        List<Chunk> chunks = new ArrayList<>();
        for (int p = 0; p < passages.size(); p++) {
            chunks.addAll(chunk(p, passages.get(p), tokenized.get(p), tokenized.get(p).length(), k));
        }
        return chunks;
    }

    /**
     * Chunks the first {@code count} tokens of an already tokenized passage: how a document's context is cut off at
     * an exact token count (evaluation), with the same chunks {@link #chunk(List, int)} would give for it.
     *
     * @param passage index recorded in the chunks
     * @param text the passage
     * @param tokens its tokenization by the decoder's tokenizer (no BOS)
     * @param count tokens to chunk, at most {@code tokens.length()}
     * @param k decoder tokens per chunk
     * @return chunks in order
     */
    public static List<Chunk> chunk(int passage, String text, Tokenized tokens, int count, int k) {
        Compression.requireK(k);
        if (count < 0 || count > tokens.length()) {
            throw new InvalidRequestException("cannot chunk " + count + " of " + tokens.length() + " tokens");
        }
        List<Chunk> chunks = new ArrayList<>();
        for (int start = 0, index = 0; start < count; start += k, index++) {
            int end = Math.min(count, start + k);
            int[] ids = Arrays.copyOfRange(tokens.ids(), start, end);
            int charStart = tokens.charStart()[start];
            int charEnd = Math.max(charStart, tokens.charEnd()[end - 1]);
            chunks.add(new Chunk(passage, index, ids, text.substring(charStart, charEnd), charStart, charEnd));
        }
        return chunks;
    }
}
