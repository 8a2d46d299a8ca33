package io.refrag.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import io.refrag.core.RefragResult;

import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * A langchain4j {@link StreamingChatModel} that answers through a REFRAG pipeline: the handler receives every piece of
 * text as its token is generated, in order, then the complete response (as {@link RefragChatModel} returns it) or the
 * error. Generation runs on the configured executor (default: the calling thread). Thread-safe; the caller owns and
 * closes the pipeline.
 */
public final class RefragStreamingChatModel implements StreamingChatModel {
    private final RefragChat chat;
    private final Executor executor;

    private RefragStreamingChatModel(Builder b) {
        this.chat = b.chat();
        this.executor = Objects.requireNonNull(b.executor, "executor");
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        executor.execute(() -> {
            RefragResult result;
            try {
                result = chat.generate(request, (tokenId, delta) -> {
                    if (!delta.isEmpty()) {
                        handler.onPartialResponse(delta);
                    }
                });
            } catch (RuntimeException e) {
                handler.onError(e);
                return;
            }
            handler.onCompleteResponse(chat.response(result));
        });
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return chat.defaults();
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    /** Builds a {@link RefragStreamingChatModel}. */
    public static final class Builder extends RefragChatBuilder<Builder> {
        private Executor executor = Runnable::run;

        private Builder() {
        }

        /**
         * @param runner where generation runs; default the calling thread (the call returns when streaming ends)
         * @return this builder
         */
        public Builder executor(Executor runner) {
            this.executor = runner;
            return this;
        }

        /** @return the streaming chat model */
        public RefragStreamingChatModel build() {
            return new RefragStreamingChatModel(this);
        }
    }
}
