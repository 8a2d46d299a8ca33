package io.refrag.core.eval;

/**
 * One mode's measurements.
 *
 * @param mode no context, full context or REFRAG
 * @param k chunk size (0 unless refrag)
 * @param p expansion fraction (0 unless refrag)
 * @param policy expansion policy (empty unless refrag)
 * @param meanNll mean NLL per target token, in nats (QA: of the first reference answer)
 * @param perplexity {@code exp(meanNll)}
 * @param gainKept share of the full-context gain kept: (NLL_none - NLL) / (NLL_none - NLL_full)
 * @param decoderInputLength mean decoder input length, in positions
 * @param ttftMillis median time to first token (chunk embeddings served by the cache)
 * @param exactMatch QA: share of answers matching a reference exactly after normalisation, else NaN
 * @param f1 QA: mean best token F1 against the references, else NaN
 */
public record EvalRow(EvalMode mode, int k, double p, String policy, double meanNll, double perplexity,
        double gainKept, double decoderInputLength, double ttftMillis, double exactMatch, double f1) {

    /** @return a short label: {@code none}, {@code full} or {@code refrag k=8 p=0.25 random} */
    public String label() {
        if (mode != EvalMode.REFRAG) {
            return mode.label();
        }
        return "refrag k=" + k + " p=" + p + (p > 0 ? " " + policy : "");
    }
}
