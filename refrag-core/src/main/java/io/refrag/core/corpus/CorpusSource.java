package io.refrag.core.corpus;

import io.refrag.core.model.CausalDecoder;

/**
 * Where a training run's documents come from: a corpus in hand ({@link TrainingCorpus}) or one the decoder samples
 * when the run opens ({@link Sampled}), so that reading a config never loads a model.
 */
public sealed interface CorpusSource permits TrainingCorpus, CorpusSource.Sampled {

    /** @return how many documents it gives (at most, for a sampled corpus) */
    int size();

    /**
     * @param decoder the run's decoder
     * @return the documents
     */
    TrainingCorpus resolve(CausalDecoder decoder);

    /**
     * Documents sampled from the decoder at temperature 1, starting from BOS.
     *
     * @param documents how many
     * @param tokens tokens per document
     * @param seed document i uses seed + i
     */
    record Sampled(int documents, int tokens, long seed) implements CorpusSource {
        /** Checks the counts. */
        public Sampled {
            TrainingCorpus.requireSampleCounts(documents, tokens);
        }

        @Override
        public int size() {
            return documents;
        }

        @Override
        public TrainingCorpus resolve(CausalDecoder decoder) {
            return TrainingCorpus.sample(decoder, documents, tokens, seed);
        }
    }
}
