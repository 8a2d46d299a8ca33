package io.refrag.langchain4j;

import dev.langchain4j.model.chat.response.ChatResponseMetadata;
import io.refrag.core.RefragMetrics;
import io.refrag.core.report.ResultJson;

import java.util.Objects;

/**
 * Chat response metadata with REFRAG's metrics beside langchain4j's token usage and finish reason. Token usage counts
 * the positions the decoder actually prefilled as input; {@link RefragMetrics#fullContextTokens()} says what the
 * uncompressed prompt would have taken.
 */
public final class RefragChatResponseMetadata extends ChatResponseMetadata {
    private final RefragMetrics refrag;
    private final Fit fit;

    /**
     * What the opt-in context fit did to the request ({@link RefragChatBuilder#fitContext}).
     *
     * @param droppedPassages the lowest-ranked passages left out
     * @param k the chunk size used
     */
    public record Fit(int droppedPassages, int k) {
    }

    private RefragChatResponseMetadata(Builder builder) {
        super(builder);
        this.refrag = Objects.requireNonNull(builder.refrag, "refrag metrics");
        this.fit = builder.fit;
    }

    /** @return REFRAG's timings and compression for this response */
    public RefragMetrics refrag() {
        return refrag;
    }

    /** @return what the context fit did, or null when the model does not fit requests */
    public Fit fit() {
        return fit;
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Builder toBuilder() {
        return ((Builder) toBuilder(builder())).refrag(refrag).fit(fit);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RefragChatResponseMetadata other && super.equals(o) && refrag.equals(other.refrag)
                && Objects.equals(fit, other.fit);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), refrag, fit);
    }

    @Override
    public String toString() {
        return "RefragChatResponseMetadata{id=" + id() + ", modelName=" + modelName() + ", tokenUsage=" + tokenUsage()
                + ", finishReason=" + finishReason() + ", refrag=" + ResultJson.toJson(refrag) + (fit == null ? "" : ", fit=" + fit) + "}";
    }

    /** Builds {@link RefragChatResponseMetadata}. */
    public static final class Builder extends ChatResponseMetadata.Builder<Builder> {
        private RefragMetrics refrag;
        private Fit fit;

        private Builder() {
        }

        /**
         * @param contextFit what the context fit did, or null
         * @return this builder
         */
        public Builder fit(Fit contextFit) {
            this.fit = contextFit;
            return this;
        }

        /**
         * @param metrics REFRAG's metrics of the request
         * @return this builder
         */
        public Builder refrag(RefragMetrics metrics) {
            this.refrag = metrics;
            return this;
        }

        @Override
        public RefragChatResponseMetadata build() {
            return new RefragChatResponseMetadata(this);
        }
    }
}
