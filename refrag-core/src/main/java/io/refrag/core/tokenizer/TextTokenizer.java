package io.refrag.core.tokenizer;

import java.util.List;

/** Turns text into token ids with character spans and back. Implementations are thread-safe. */
public interface TextTokenizer extends AutoCloseable {

    /**
     * @return a hash of the tokenizer's definition and settings, the same for every copy of it: texts tokenize alike
     *     exactly when the hashes are equal
     */
    String contentHash();

    /**
     * Tokenizes text. Whether special tokens (BOS, [CLS]/[SEP]) are added is fixed when the tokenizer is built.
     *
     * @param text any text, possibly empty
     * @return ids and character spans
     */
    Tokenized encode(String text);

    /**
     * Tokenizes many texts in one native call.
     *
     * @param texts texts
     * @return one result per text, in order
     */
    List<Tokenized> encodeBatch(List<String> texts);

    /**
     * @param ids token ids
     * @return the text, special tokens skipped
     */
    String decode(int[] ids);

    @Override
    void close();
}
