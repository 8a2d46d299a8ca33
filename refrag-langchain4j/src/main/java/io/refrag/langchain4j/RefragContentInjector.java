package io.refrag.langchain4j;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.rag.content.Content;
import dev.langchain4j.rag.content.injector.ContentInjector;
import io.refrag.core.exception.InvalidRequestException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hands retrieved content to REFRAG as compressible passages instead of pasting it into the prompt text, as
 * langchain4j's default injector does. The user message keeps its text; the passages travel in its
 * {@value #PASSAGES_ATTRIBUTE} attribute, where {@link RefragChatModel} and {@link RefragStreamingChatModel} find them
 * and pass them to the pipeline as a context segment (chunked, encoded, mostly compressed).
 *
 * <pre>{@code
 * RetrievalAugmentor augmentor = DefaultRetrievalAugmentor.builder()
 *         .contentRetriever(retriever)
 *         .contentInjector(new RefragContentInjector())
 *         .build();
 * }</pre>
 */
public final class RefragContentInjector implements ContentInjector {
    /** The user-message attribute holding the retrieved passages, a {@code List<String>}. */
    public static final String PASSAGES_ATTRIBUTE = "refrag.passages";

    /**
     * @param contents retrieved content, best first
     * @param chatMessage the user's message
     * @return the message with the passages attached (unchanged when nothing was retrieved or it is not a user message)
     */
    @Override
    public ChatMessage inject(List<Content> contents, ChatMessage chatMessage) {
        if (contents.isEmpty() || !(chatMessage instanceof UserMessage user)) {
            return chatMessage;
        }
        List<String> passages = contents.stream().map(c -> c.textSegment().text()).filter(t -> !t.isBlank()).toList();
        if (passages.isEmpty()) {
            return chatMessage;
        }
        Map<String, Object> attributes = new LinkedHashMap<>(user.attributes());
        attributes.put(PASSAGES_ATTRIBUTE, passages);
        return user.toBuilder().attributes(attributes).build();
    }

    /**
     * @param message a user message
     * @return the passages an injector attached to it (empty if none)
     * @throws InvalidRequestException if the attribute holds something other than a list of texts
     */
    public static List<String> passages(UserMessage message) {
        Object value = message.attributes().get(PASSAGES_ATTRIBUTE);
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> list) || !list.stream().allMatch(String.class::isInstance)) {
            throw new InvalidRequestException("user message attribute '" + PASSAGES_ATTRIBUTE
                    + "' must be a list of passage texts, got " + value.getClass().getName());
        }
        return list.stream().map(String.class::cast).toList();
    }
}
