package io.refrag.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;

/**
 * A langchain4j {@link ChatModel} that answers through a REFRAG pipeline. Retrieved passages that
 * {@link RefragContentInjector} attached to the user message are compressed; everything else is text. Maps temperature,
 * top-p, top-k, max output tokens and stop sequences; the response metadata is a {@link RefragChatResponseMetadata}
 * (token usage, finish reason, TTFT, compression). Thread-safe; the caller owns and closes the pipeline.
 *
 * <pre>{@code
 * ChatModel model = RefragChatModel.builder().refrag(refrag).build();
 * }</pre>
 */
public final class RefragChatModel extends RefragChatModelBase implements ChatModel {
    private RefragChatModel(Builder b) {
        super(b);
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        RefragChat.Started started = chat.start(request, null);
        return chat.response(started.generation().join(), started.fit());
    }

    /** Builds a {@link RefragChatModel}. */
    public static final class Builder extends RefragChatBuilder<Builder> {
        private Builder() {
        }

        /** @return the chat model */
        public RefragChatModel build() {
            return new RefragChatModel(this);
        }
    }
}
