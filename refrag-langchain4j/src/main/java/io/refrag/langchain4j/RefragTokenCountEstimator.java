package io.refrag.langchain4j;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.model.TokenCountEstimator;
import io.refrag.core.Refrag;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A langchain4j {@link TokenCountEstimator} over the REFRAG decoder's own tokenizer, for token-window chat memories
 * and prompt budgets. A message counts the positions it takes in the prompt the chat models build
 * ({@link ChatPromptFormat}), its retrieved passages counted uncompressed: an upper bound on what the decoder
 * prefills. Thread-safe.
 */
public final class RefragTokenCountEstimator implements TokenCountEstimator {
    private final Refrag refrag;
    private final ChatPromptFormat format;

    /**
     * @param refrag the pipeline whose decoder tokenizer counts
     * @param format the chat format the chat models use
     */
    public RefragTokenCountEstimator(Refrag refrag, ChatPromptFormat format) {
        this.refrag = Objects.requireNonNull(refrag, "refrag");
        this.format = Objects.requireNonNull(format, "format");
    }

    @Override
    public int estimateTokenCountInText(String text) {
        return refrag.decoder().tokenizer().encode(text).length();
    }

    @Override
    public int estimateTokenCountInMessage(ChatMessage message) {
        return estimateTokenCountInMessages(List.of(message));
    }

    @Override
    public int estimateTokenCountInMessages(Iterable<ChatMessage> messages) {
        List<ChatMessage> list = new ArrayList<>();
        messages.forEach(list::add);
        if (list.isEmpty()) {
            return 0;
        }
        return refrag.fullContextTokens(format.toRequest(list)) - 1; // less the BOS the pipeline adds once per prompt
    }
}
