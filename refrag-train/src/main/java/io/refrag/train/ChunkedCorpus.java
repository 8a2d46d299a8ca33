package io.refrag.train;

import io.refrag.core.model.Chunk;
import io.refrag.core.chunk.Chunker;
import io.refrag.core.corpus.TrainingCorpus;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.tokenizer.TextTokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Documents cut into full k-token chunks with the pipeline's {@link Chunker} (a trailing partial chunk is dropped), split
 * into training and held-out documents; samples are runs of consecutive chunks within one document.
 */
final class ChunkedCorpus {
    private final List<List<Chunk>> train;
    private final List<List<Chunk>> heldOut;

    ChunkedCorpus(TrainingCorpus corpus, int heldOutDocuments, TextTokenizer tokenizer, int k) {
        Chunker chunker = new Chunker(tokenizer);
        List<List<Chunk>> docs = new ArrayList<>();
        for (String d : corpus.documents()) {
            docs.add(chunker.chunk(List.of(d), k).stream().filter(c -> c.length() == k).toList());
        }
        int split = docs.size() - heldOutDocuments;
        this.train = docs.subList(0, split);
        this.heldOut = docs.subList(split, docs.size());
    }

    /**
     * @param heldOutSet whether to draw from the held-out documents
     * @param chunks consecutive chunks needed
     * @param r randomness
     * @return a uniformly chosen run of {@code chunks} chunks from a document long enough
     */
    List<Chunk> window(boolean heldOutSet, int chunks, Random r) {
        List<List<Chunk>> docs = heldOutSet ? heldOut : train;
        List<List<Chunk>> fit = docs.stream().filter(d -> d.size() >= chunks).toList();
        if (fit.isEmpty()) {
            throw new InvalidRequestException("no " + (heldOutSet ? "held-out" : "training") + " document has "
                    + chunks + " full chunks; use longer documents, a smaller k or fewer chunks per sample");
        }
        List<Chunk> d = fit.get(r.nextInt(fit.size()));
        int start = r.nextInt(d.size() - chunks + 1);
        return d.subList(start, start + chunks);
    }

    /** @return a deterministic RNG for sample {@code index} of {@code step} */
    static Random random(long seed, long step, long index) {
        long h = seed * 0x9E3779B97F4A7C15L + step * 0xC2B2AE3D27D4EB4FL + index * 0x165667B19E3779F9L;
        return new Random(h ^ (h >>> 31));
    }
}
