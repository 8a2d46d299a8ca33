package io.refrag.langchain4j;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import io.refrag.core.RefragGeneration;

import java.util.concurrent.CompletionException;

/**
 * A langchain4j {@link StreamingChatModel} that answers through a REFRAG pipeline: {@code chat} returns at once, and the
 * handler then receives every piece of text as its token is generated, in order, then the complete response (as
 * {@link RefragChatModel} returns it) or the error. The handler runs on the pipeline's scheduler thread, which serves
 * every request: it should hand slow work elsewhere. {@link PartialResponseContext#streamingHandle()} cancels the
 * request: it leaves the batch at the next decode step, its KV cache is freed, and the handler hears nothing more.
 * Thread-safe; the caller owns and closes the pipeline.
 */
public final class RefragStreamingChatModel extends RefragChatModelBase implements StreamingChatModel {
    private RefragStreamingChatModel(Builder b) {
        super(b);
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Handle handle = new Handle();
        PartialResponseContext context = new PartialResponseContext(handle);
        RefragChat.Started started;
        try {
            started = chat.start(request, (tokenId, delta) -> {
                if (!delta.isEmpty() && !handle.isCancelled()) {
                    handler.onPartialResponse(new PartialResponse(delta), context);
                }
            });
        } catch (RuntimeException e) {
            handler.onError(e);
            return;
        }
        RefragGeneration generation = started.generation();
        handle.running(generation);
        generation.result().whenComplete((result, failure) -> {
            if (handle.isCancelled()) {
                return;
            }
            if (failure == null) {
                handler.onCompleteResponse(chat.response(result, started.fit()));
            } else {
                handler.onError(failure instanceof CompletionException c && c.getCause() != null ? c.getCause()
                        : failure);
            }
        });
    }

    /** Cancels the request, also when asked before the request had started. */
    private static final class Handle implements StreamingHandle {
        private volatile boolean cancelled;
        private volatile RefragGeneration generation;

        void running(RefragGeneration g) {
            generation = g;
            if (cancelled) {
                g.cancel();
            }
        }

        @Override
        public void cancel() {
            cancelled = true;
            RefragGeneration g = generation;
            if (g != null) {
                g.cancel();
            }
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }
    }

    /** Builds a {@link RefragStreamingChatModel}. */
    public static final class Builder extends RefragChatBuilder<Builder> {
        private Builder() {
        }

        /** @return the streaming chat model */
        public RefragStreamingChatModel build() {
            return new RefragStreamingChatModel(this);
        }
    }
}
