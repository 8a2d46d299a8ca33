package io.refrag.core.plan;

import io.refrag.core.model.Chunk;
import io.refrag.core.exception.RefragException;
import io.refrag.core.model.DecoderInfo;
import io.refrag.core.model.DecoderInput;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/**
 * The layout of one decoder prompt in document order: token parts (BOS, text) and chunk slots (context chunks), plus
 * the set of chunks that are expanded back into their tokens. A compressed chunk takes one position (its projected
 * embedding); an expanded chunk takes its tokens' positions. Immutable.
 *
 * <p>Serving and training build the same plan and render it their own way: {@link #toDecoderInput(float[][])} for
 * the decoder's prefill, {@link #runs()} for code that embeds the runs itself (training, evaluation).
 */
public final class PromptPlan {

    /** One element of the prompt as written, before expansion decisions. */
    private sealed interface Part permits Tokens, ChunkSlot {
    }

    /** Text token ids, always fed as tokens. */
    private record Tokens(int[] ids) implements Part {
    }

    /** The slot of context chunk {@code chunk}, an index into {@link #chunks()}. */
    private record ChunkSlot(int chunk) implements Part {
    }

    /** A run of consecutive decoder positions: token ids, or compressed chunks (one embedding each). */
    public sealed interface Run permits TokenRun, CompressedRun {
    }

    /**
     * Token ids: BOS, text and expanded chunks' tokens, merged where they are adjacent.
     *
     * @param ids the ids in order
     */
    public record TokenRun(int[] ids) implements Run {
    }

    /**
     * Consecutive compressed chunks.
     *
     * @param chunks indices into {@link #chunks()}, ascending
     */
    public record CompressedRun(int[] chunks) implements Run {
    }

    private final List<Part> parts;
    private final List<Chunk> chunks;
    private final BitSet expanded;
    private final int textTokens;

    private PromptPlan(List<Part> parts, List<Chunk> chunks, BitSet expanded, int textTokens) {
        this.parts = parts;
        this.chunks = chunks;
        this.expanded = expanded;
        this.textTokens = textTokens;
    }

    /**
     * Starts a plan with the decoder's BOS token, when it has one: the one place a prompt gets its BOS.
     *
     * @param decoder the decoder the prompt is for
     * @return a builder
     */
    public static Builder builder(DecoderInfo decoder) {
        return new Builder(decoder.bosTokenId());
    }

    /** @return the context chunks in document order */
    public List<Chunk> chunks() {
        return chunks;
    }

    /** @return positions of BOS and text tokens */
    public int textTokens() {
        return textTokens;
    }

    /** @return positions with every chunk expanded: the full-context length */
    public int fullContextLength() {
        return textTokens + chunks.stream().mapToInt(Chunk::length).sum();
    }

    /** @return positions of this plan as the decoder receives it */
    public int length() {
        int n = textTokens;
        for (int i = 0; i < chunks.size(); i++) {
            n += expanded.get(i) ? chunks.get(i).length() : 1;
        }
        return n;
    }

    /**
     * The shortest length any choice of {@code budget} expanded chunks can give (the shortest chunks expanded): what
     * must fit before a policy runs.
     *
     * @param budget chunks to be expanded
     * @return positions
     */
    public int minLength(int budget) {
        return lengthExpanding(budget, false);
    }

    /**
     * The longest length any choice of {@code budget} expanded chunks can give (the longest chunks expanded): a length
     * the request cannot exceed, whatever the policy picks.
     *
     * @param budget chunks to be expanded
     * @return positions
     */
    public int maxLength(int budget) {
        return lengthExpanding(budget, true);
    }

    /** @return the length with {@code budget} chunks expanded, the longest ones or the shortest, the rest compressed */
    private int lengthExpanding(int budget, boolean longest) {
        int[] lengths = chunks.stream().mapToInt(Chunk::length).sorted().toArray();
        int from = longest ? lengths.length - budget : 0;
        return textTokens + (chunks.size() - budget) + Arrays.stream(lengths, from, from + budget).sum();
    }

    /**
     * @param chunk index into {@link #chunks()}
     * @return whether that chunk is fed as its tokens
     */
    public boolean isExpanded(int chunk) {
        return expanded.get(chunk);
    }

    /** @return indices of the compressed chunks, ascending */
    public int[] compressedChunks() {
        BitSet compressed = new BitSet(chunks.size());
        compressed.set(0, chunks.size());
        compressed.andNot(expanded);
        return compressed.stream().toArray();
    }

    /**
     * @param picks chunk indices to expand (in any order)
     * @return this plan with exactly those chunks expanded
     * @throws RefragException if an index is out of range or repeated
     */
    public PromptPlan withExpanded(int[] picks) {
        BitSet e = new BitSet(chunks.size());
        for (int i : picks) {
            if (i < 0 || i >= chunks.size() || e.get(i)) {
                throw new RefragException("invalid or repeated chunk index " + i + " to expand (chunks: "
                        + chunks.size() + ")");
            }
            e.set(i);
        }
        return new PromptPlan(parts, chunks, e, textTokens);
    }

    /** @return this plan with every chunk expanded: the full-context prompt */
    public PromptPlan withAllExpanded() {
        BitSet e = new BitSet(chunks.size());
        e.set(0, chunks.size());
        return new PromptPlan(parts, chunks, e, textTokens);
    }

    /** @return the decoder positions as runs in order; adjacent token positions form one run */
    public List<Run> runs() {
        List<Run> runs = new ArrayList<>();
        List<int[]> tokens = new ArrayList<>();
        List<Integer> compressed = new ArrayList<>();
        for (Part p : parts) {
            if (p instanceof Tokens t) {
                flushCompressed(compressed, runs);
                tokens.add(t.ids());
            } else if (p instanceof ChunkSlot slot && expanded.get(slot.chunk())) {
                flushCompressed(compressed, runs);
                tokens.add(chunks.get(slot.chunk()).tokenIds());
            } else if (p instanceof ChunkSlot slot) {
                flushTokens(tokens, runs);
                compressed.add(slot.chunk());
            }
        }
        flushTokens(tokens, runs);
        flushCompressed(compressed, runs);
        return runs;
    }

    private static void flushTokens(List<int[]> tokens, List<Run> runs) {
        if (!tokens.isEmpty()) {
            runs.add(new TokenRun(tokens.stream().flatMapToInt(Arrays::stream).toArray()));
            tokens.clear();
        }
    }

    private static void flushCompressed(List<Integer> compressed, List<Run> runs) {
        if (!compressed.isEmpty()) {
            runs.add(new CompressedRun(compressed.stream().mapToInt(Integer::intValue).toArray()));
            compressed.clear();
        }
    }

    /**
     * Renders the plan for serving.
     *
     * @param embeddings projected embedding of each chunk by index; needed for the compressed ones only
     * @return the decoder input
     */
    public DecoderInput toDecoderInput(float[][] embeddings) {
        DecoderInput.Builder in = DecoderInput.builder();
        for (Run run : runs()) {
            if (run instanceof TokenRun t) {
                in.tokens(t.ids());
            } else if (run instanceof CompressedRun c) {
                in.embeddings(Arrays.stream(c.chunks()).mapToObj(i -> embeddings[i]).toArray(float[][]::new));
            }
        }
        return in.build();
    }

    /** Builds a {@link PromptPlan} in document order; no chunk is expanded until {@link #withExpanded}. */
    public static final class Builder {
        private final List<Part> parts = new ArrayList<>();
        private final List<Chunk> chunks = new ArrayList<>();
        private int textTokens;

        private Builder(int bos) {
            if (bos >= 0) {
                tokens(new int[] {bos});
            }
        }

        /**
         * @param ids text token ids to append (no BOS)
         * @return this builder
         */
        public Builder tokens(int[] ids) {
            if (ids.length > 0) {
                parts.add(new Tokens(ids.clone()));
                textTokens += ids.length;
            }
            return this;
        }

        /**
         * @param context chunks to append, in document order
         * @return this builder
         */
        public Builder chunks(List<Chunk> context) {
            for (Chunk c : context) {
                parts.add(new ChunkSlot(chunks.size()));
                chunks.add(c);
            }
            return this;
        }

        /** @return the plan, every chunk compressed */
        public PromptPlan build() {
            return new PromptPlan(List.copyOf(parts), List.copyOf(chunks), new BitSet(chunks.size()), textTokens);
        }
    }
}
