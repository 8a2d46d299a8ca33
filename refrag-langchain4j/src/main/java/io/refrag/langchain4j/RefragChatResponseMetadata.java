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

    private RefragChatResponseMetadata(Builder builder) {
        super(builder);
        this.refrag = Objects.requireNonNull(builder.refrag, "refrag metrics");
    }

    /** @return REFRAG's timings and compression for this response */
    public RefragMetrics refrag() {
        return refrag;
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Builder toBuilder() {
        return ((Builder) toBuilder(builder())).refrag(refrag);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RefragChatResponseMetadata other && super.equals(o) && refrag.equals(other.refrag);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), refrag);
    }

    @Override
    public String toString() {
        return "RefragChatResponseMetadata{id=" + id() + ", modelName=" + modelName() + ", tokenUsage=" + tokenUsage()
                + ", finishReason=" + finishReason() + ", refrag=" + ResultJson.toJson(refrag) + "}";
    }

    /** Builds {@link RefragChatResponseMetadata}. */
    public static final class Builder extends ChatResponseMetadata.Builder<Builder> {
        private RefragMetrics refrag;

        private Builder() {
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
