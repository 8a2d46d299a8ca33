package io.refrag.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.refrag.core.Refrag;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragGeneration;
import io.refrag.core.RefragResult;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.TokenListener;

import java.util.Objects;
import java.util.UUID;

/** What the blocking and the streaming chat model share: request mapping, the call, and the response. */
final class RefragChat {
    private final Refrag refrag;
    private final ChatPromptFormat format;
    private final String modelName;

    RefragChat(Refrag refrag, ChatPromptFormat format, String modelName) {
        this.refrag = Objects.requireNonNull(refrag, "refrag: the pipeline to answer with");
        this.format = Objects.requireNonNull(format, "format");
        this.modelName = Objects.requireNonNull(modelName, "modelName");
    }

    /** @return the pipeline's defaults as langchain4j parameters, which requests override */
    ChatRequestParameters defaults() {
        GenerationOptions g = refrag.defaults().generation();
        return ChatRequestParameters.builder()
                .modelName(modelName)
                .temperature((double) g.temperature())
                .topP((double) g.topP())
                .topK(g.topK())
                .maxOutputTokens(g.maxNewTokens())
                .build();
    }

    /**
     * Answers a chat request through the pipeline.
     *
     * @param request messages and parameters (temperature, top-p, top-k, max output tokens, stop sequences)
     * @param listener receives each token, or null
     * @return the result
     * @throws InvalidRequestException for parameters REFRAG does not support (tools, JSON mode, penalties)
     */
    RefragResult generate(ChatRequest request, TokenListener listener) {
        return start(request, listener).join();
    }

    /**
     * Starts a chat request on the pipeline's scheduler and returns at once.
     *
     * @param request the chat request
     * @param listener receives each token on the scheduler thread, or null
     * @return the running request
     * @throws InvalidRequestException for parameters REFRAG does not support (tools, JSON mode, penalties)
     */
    RefragGeneration start(ChatRequest request, TokenListener listener) {
        ChatRequestParameters p = request.parameters();
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new InvalidRequestException("REFRAG chat models do not call tools; the request offers "
                    + p.toolSpecifications().size());
        }
        if (p.responseFormat() != null && !ResponseFormat.TEXT.equals(p.responseFormat())) {
            throw new InvalidRequestException("REFRAG chat models answer in text only, not " + p.responseFormat());
        }
        if (p.frequencyPenalty() != null || p.presencePenalty() != null) {
            throw new InvalidRequestException("REFRAG chat models support temperature, top-p, top-k, max output "
                    + "tokens and stop sequences; frequency and presence penalties are not supported");
        }
        if (p.modelName() != null && !p.modelName().equals(modelName)) {
            throw new InvalidRequestException("this chat model serves '" + modelName + "', not '" + p.modelName() + "'");
        }
        GenerationOptions.Builder g = refrag.defaults().generation().toBuilder().optListener(listener);
        if (p.temperature() != null) {
            g.optTemperature(p.temperature().floatValue());
        }
        if (p.topP() != null) {
            g.optTopP(p.topP().floatValue());
        }
        if (p.topK() != null) {
            g.optTopK(p.topK());
        }
        if (p.maxOutputTokens() != null) {
            g.optMaxNewTokens(p.maxOutputTokens());
        }
        if (p.stopSequences() != null) {
            g.optStopSequences(p.stopSequences());
        }
        RefragOptions options = refrag.defaults().toBuilder().optGeneration(g.build()).build();
        return refrag.generateAsync(format.toRequest(request.messages()), options);
    }

    /**
     * @param r a pipeline result
     * @return the chat response: the answer, token usage (prefilled positions in, generated tokens out), finish reason
     *     and {@link RefragChatResponseMetadata} with REFRAG's metrics
     */
    ChatResponse response(RefragResult r) {
        FinishReason finish = switch (r.generation().finishReason()) {
            case STOP -> FinishReason.STOP;
            case LENGTH, CONTEXT_LIMIT -> FinishReason.LENGTH;
        };
        RefragChatResponseMetadata metadata = RefragChatResponseMetadata.builder()
                .id(UUID.randomUUID().toString())
                .modelName(modelName)
                .tokenUsage(new TokenUsage(r.decoderInputLength(), r.generation().generatedTokens()))
                .finishReason(finish)
                .refrag(r.metrics())
                .build();
        return ChatResponse.builder().aiMessage(AiMessage.from(r.text())).metadata(metadata).build();
    }
}
