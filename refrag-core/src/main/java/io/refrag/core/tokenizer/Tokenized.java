package io.refrag.core.tokenizer;

/**
 * A tokenized text: ids with the character span {@code [charStart[i], charEnd[i])} each token came from
 * (special tokens have an empty span).
 *
 * @param ids token ids
 * @param charStart first character of each token in the source text
 * @param charEnd one past the last character of each token
 */
public record Tokenized(int[] ids, int[] charStart, int[] charEnd) {

    /** @return number of tokens */
    public int length() {
        return ids.length;
    }
}
