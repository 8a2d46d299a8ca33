package io.refrag.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;

import java.util.List;

/**
 * What the blocking and the streaming chat model answer alike: their defaults, listeners and provider (langchain4j's
 * {@code ChatModel} and {@code StreamingChatModel} declare these the same way).
 */
abstract class RefragChatModelBase {
    final RefragChat chat;

    RefragChatModelBase(RefragChatBuilder<?> builder) {
        this.chat = builder.chat();
    }

    /** @return the pipeline's defaults overridden by the builder's, which requests override in turn */
    public ChatRequestParameters defaultRequestParameters() {
        return chat.defaults();
    }

    /** @return the listeners langchain4j calls around every request */
    public List<ChatModelListener> listeners() {
        return chat.listeners();
    }

    /** @return {@link ModelProvider#OTHER} */
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }
}
