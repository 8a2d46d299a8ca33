package io.refrag.core.model;

import io.refrag.core.exception.InvalidRequestException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The decoder's input as an ordered list of segments, each either token ids (embedded by the decoder's own
 * {@code embed_tokens}) or precomputed input-embedding rows (REFRAG's projected chunk embeddings). Every token and every
 * row takes one position, in order.
 */
public final class DecoderInput {

    /** One run of consecutive positions. */
    public sealed interface Segment permits Tokens, Embeddings {
        /** @return positions this segment occupies */
        int length();
    }

    /**
     * Token ids, one position each.
     *
     * @param ids token ids
     */
    public record Tokens(int[] ids) implements Segment {
        @Override
        public int length() {
            return ids.length;
        }
    }

    /**
     * Input-embedding rows {@code [n, hidden]}, one position each.
     *
     * @param rows the rows; all of the decoder's hidden size
     */
    public record Embeddings(float[][] rows) implements Segment {
        @Override
        public int length() {
            return rows.length;
        }
    }

    private final List<Segment> segments;
    private final int length;

    private DecoderInput(List<Segment> segments) {
        this.segments = Collections.unmodifiableList(segments);
        this.length = segments.stream().mapToInt(Segment::length).sum();
    }

    /**
     * @param ids token ids
     * @return an input of those tokens only
     */
    public static DecoderInput ofTokens(int... ids) {
        return builder().tokens(ids).build();
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the segments in order */
    public List<Segment> segments() {
        return segments;
    }

    /** @return total positions */
    public int length() {
        return length;
    }

    /** Builds a {@link DecoderInput}; empty segments are dropped. */
    public static final class Builder {
        private final List<Segment> segments = new ArrayList<>();

        private Builder() {
        }

        /**
         * @param ids token ids to append
         * @return this builder
         */
        public Builder tokens(int... ids) {
            if (ids.length > 0) {
                segments.add(new Tokens(ids.clone()));
            }
            return this;
        }

        /**
         * @param other an input whose segments are appended in order
         * @return this builder
         */
        public Builder append(DecoderInput other) {
            segments.addAll(other.segments());
            return this;
        }

        /**
         * @param rows embedding rows to append, {@code [n, hidden]}
         * @return this builder
         */
        public Builder embeddings(float[][] rows) {
            if (rows.length > 0) {
                segments.add(new Embeddings(rows));
            }
            return this;
        }

        /**
         * @return the input
         * @throws InvalidRequestException if it holds no position
         */
        public DecoderInput build() {
            DecoderInput in = new DecoderInput(new ArrayList<>(segments));
            if (in.length() == 0) {
                throw new InvalidRequestException("decoder input is empty: give at least one token or embedding row");
            }
            return in;
        }
    }
}
