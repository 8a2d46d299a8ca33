package io.refrag.core.model;

/**
 * One chunk of a passage: at most k decoder tokens (the last chunk of a passage may be shorter).
 *
 * @param passage index of the passage it came from
 * @param index position of the chunk within its passage
 * @param tokenIds the decoder token ids (used when the chunk is expanded); no BOS
 * @param text the exact source text the tokens cover (fed to the encoder's own tokenizer)
 * @param charStart first character of {@code text} in the passage
 * @param charEnd one past its last character
 */
public record Chunk(int passage, int index, int[] tokenIds, String text, int charStart, int charEnd) {

    /** @return number of decoder tokens */
    public int length() {
        return tokenIds.length;
    }
}
