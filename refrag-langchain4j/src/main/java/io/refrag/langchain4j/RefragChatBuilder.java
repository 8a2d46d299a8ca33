package io.refrag.langchain4j;

import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import io.refrag.core.Refrag;

import java.util.List;

/**
 * What both REFRAG chat model builders set, with langchain4j's provider conventions: the pipeline, the chat format, the
 * model name, default request parameters (each setter overrides {@link #defaultRequestParameters}, which overrides the
 * pipeline's own defaults), request/response logging, listeners, and the opt-in context fit.
 *
 * @param <B> the concrete builder
 */
public abstract class RefragChatBuilder<B extends RefragChatBuilder<B>> {
    Refrag refrag;
    ChatPromptFormat format = ChatPromptFormat.plain();
    String modelName = "refrag";
    ChatRequestParameters defaultRequestParameters;
    Double temperature;
    Double topP;
    Integer topK;
    Integer maxOutputTokens;
    List<String> stopSequences;
    boolean logRequests;
    boolean logResponses;
    List<ChatModelListener> listeners = List.of();
    boolean fitContext;

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
     * @param name the model name responses report and requests may name; default {@code refrag}
     * @return this builder
     */
    public B modelName(String name) {
        this.modelName = name;
        return self();
    }

    /**
     * @param parameters defaults for every request (temperature, top-p, top-k, max output tokens, stop sequences);
     *     a request's own parameters override them
     * @return this builder
     */
    public B defaultRequestParameters(ChatRequestParameters parameters) {
        this.defaultRequestParameters = parameters;
        return self();
    }

    /** @param t default temperature (0 = greedy) @return this builder */
    public B temperature(Double t) {
        this.temperature = t;
        return self();
    }

    /** @param p default top-p @return this builder */
    public B topP(Double p) {
        this.topP = p;
        return self();
    }

    /** @param k default top-k (0 = off) @return this builder */
    public B topK(Integer k) {
        this.topK = k;
        return self();
    }

    /** @param n default most tokens to generate @return this builder */
    public B maxOutputTokens(Integer n) {
        this.maxOutputTokens = n;
        return self();
    }

    /** @param stop default stop sequences @return this builder */
    public B stopSequences(List<String> stop) {
        this.stopSequences = stop;
        return self();
    }

    /** @param log log each request (messages and parameters) at INFO through SLF4J @return this builder */
    public B logRequests(Boolean log) {
        this.logRequests = Boolean.TRUE.equals(log);
        return self();
    }

    /** @param log log each response (text, usage, REFRAG metrics) at INFO through SLF4J @return this builder */
    public B logResponses(Boolean log) {
        this.logResponses = Boolean.TRUE.equals(log);
        return self();
    }

    /**
     * @param chatListeners called on every request, response and error, as langchain4j's providers call them (e.g.
     *     langchain4j's Micrometer listener)
     * @return this builder
     */
    public B listeners(List<ChatModelListener> chatListeners) {
        this.listeners = chatListeners == null ? List.of() : List.copyOf(chatListeners);
        return self();
    }

    /**
     * @param fit make a request that is too long for the decoder fit instead of refusing it: the lowest-ranked
     *     passages go first, then k is raised ({@link io.refrag.core.ContextFit}); the response metadata says what
     *     was done ({@link RefragChatResponseMetadata#fit()}). Off by default.
     * @return this builder
     */
    public B fitContext(boolean fit) {
        this.fitContext = fit;
        return self();
    }

    /** @return the settings every chat model of this builder shares */
    RefragChat chat() {
        return new RefragChat(this);
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }
}
