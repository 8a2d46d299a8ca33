package io.refrag.core.generate;

/**
 * The outcome of one generation.
 *
 * @param text decoded generated text (special tokens skipped)
 * @param tokenIds generated token ids only (a final stop token included)
 * @param finishReason why it ended
 * @param promptTokens positions in the prompt the decoder saw
 * @param generatedTokens number of generated tokens
 * @param metrics timings
 */
public record GenerationResult(
        String text,
        int[] tokenIds,
        FinishReason finishReason,
        int promptTokens,
        int generatedTokens,
        GenerationMetrics metrics) {
}
