package io.refrag.core;

import io.refrag.core.exception.InvalidRequestException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One REFRAG request: an ordered list of segments, each plain text (always fed as tokens) or retrieved context
 * passages (compressible). Segments may come in any order, so the question can precede or follow the context and
 * several context blocks can be compressed anywhere in the prompt.
 */
public final class RefragRequest {

    /** A request segment. */
    public sealed interface Segment permits Text, Context {
    }

    /**
     * Plain text: question, instructions, dialogue turns. Never compressed.
     *
     * @param text the text
     */
    public record Text(String text) implements Segment {
    }

    /**
     * Retrieved passages: chunked, encoded, and compressed unless the policy expands them.
     *
     * @param passages the passages, in order
     */
    public record Context(List<String> passages) implements Segment {
    }

    private final List<Segment> segments;

    private RefragRequest(List<Segment> segments) {
        this.segments = Collections.unmodifiableList(segments);
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The default prompt: {@code "Context:\n"} + passages + {@code "\n\nQuestion: "} + question + {@code "\nAnswer:"}.
     *
     * @param question the question (may be empty when passages are given)
     * @param passages retrieved passages (may be empty when a question is given)
     * @return the request
     */
    public static RefragRequest of(String question, List<String> passages) {
        Builder b = builder();
        if (!passages.isEmpty()) {
            b.text("Context:\n").context(passages);
        }
        if (question != null && !question.isBlank()) {
            b.text((passages.isEmpty() ? "" : "\n\n") + "Question: " + question + "\nAnswer:");
        }
        return b.build();
    }

    /**
     * @param file a UTF-8 text file with one passage per line
     * @return its non-blank lines
     * @throws InvalidRequestException if it cannot be read
     */
    public static List<String> readPassages(Path file) {
        try {
            return Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList();
        } catch (IOException e) {
            throw new InvalidRequestException("cannot read passages from " + file + ": " + e.getMessage(), e);
        }
    }

    /** @return the segments in order */
    public List<Segment> segments() {
        return segments;
    }

    /** @return the plain-text segments joined by newlines (what query-aware policies compare chunks against) */
    public String queryText() {
        StringBuilder sb = new StringBuilder();
        for (Segment s : segments) {
            if (s instanceof Text t) {
                sb.append(sb.isEmpty() ? "" : "\n").append(t.text());
            }
        }
        return sb.toString();
    }

    /** Builds a {@link RefragRequest}. */
    public static final class Builder {
        private final List<Segment> segments = new ArrayList<>();

        private Builder() {
        }

        /**
         * @param text plain text to append (empty text is skipped)
         * @return this builder
         */
        public Builder text(String text) {
            if (text == null) {
                throw new InvalidRequestException("text segment is null");
            }
            if (!text.isEmpty()) {
                segments.add(new Text(text));
            }
            return this;
        }

        /**
         * @param passages passages to append as one compressible context segment
         * @return this builder
         */
        public Builder context(List<String> passages) {
            if (passages == null || passages.isEmpty()) {
                throw new InvalidRequestException("context segment has no passages; give at least one");
            }
            for (int i = 0; i < passages.size(); i++) {
                if (passages.get(i) == null || passages.get(i).isBlank()) {
                    throw new InvalidRequestException("context passage " + i + " is empty; every passage must hold text");
                }
            }
            segments.add(new Context(List.copyOf(passages)));
            return this;
        }

        /**
         * @return the request
         * @throws InvalidRequestException if it holds neither text nor context
         */
        public RefragRequest build() {
            if (segments.stream().allMatch(s -> s instanceof Text t && t.text().isBlank())) {
                throw new InvalidRequestException("request is empty: give a question, context passages, or both");
            }
            return new RefragRequest(new ArrayList<>(segments));
        }
    }
}
