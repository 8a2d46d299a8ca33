package io.refrag.langchain4j;

import io.refrag.core.Refrag;

/**
 * What both REFRAG chat model builders set: the pipeline, the chat format and the reported model name.
 *
 * @param <B> the concrete builder
 */
public abstract class RefragChatBuilder<B extends RefragChatBuilder<B>> {
    private Refrag refrag;
    private ChatPromptFormat format = ChatPromptFormat.plain();
    private String modelName = "refrag";

    RefragChatBuilder() {
    }

    /**
     * @param pipeline the pipeline that answers (required; not closed by the model)
     * @return this builder
     */
    public B refrag(Refrag pipeline) {
        this.refrag = pipeline;
        return self();
    }

    /**
     * @param chatFormat how messages become the prompt; default {@link ChatPromptFormat#plain()}, use
     *     {@link ChatPromptFormat#forDecoder} for a decoder with a chat template
     * @return this builder
     */
    public B format(ChatPromptFormat chatFormat) {
        this.format = chatFormat;
        return self();
    }

    /**
     * @param name the model name responses report; default {@code refrag}
     * @return this builder
     */
    public B modelName(String name) {
        this.modelName = name;
        return self();
    }

    /** @return the settings every chat model of this builder shares */
    RefragChat chat() {
        return new RefragChat(refrag, format, modelName);
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }
}
