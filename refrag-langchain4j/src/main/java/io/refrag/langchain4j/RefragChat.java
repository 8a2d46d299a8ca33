package io.refrag.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import io.refrag.core.ContextFit;
import io.refrag.core.Refrag;
import io.refrag.core.RefragGeneration;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.RefragResult;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.core.generate.TokenListener;
import io.refrag.core.report.ResultJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Objects;
import java.util.UUID;

/** What the blocking and the streaming chat model share: defaults, request mapping, the call, and the response. */
final class RefragChat {
    private static final Logger LOG = LoggerFactory.getLogger(RefragChat.class);

    private final Refrag refrag;
    private final ChatPromptFormat format;
    private final String modelName;
    private final ChatRequestParameters defaults;
    private final boolean logRequests;
    private final boolean logResponses;
    private final List<ChatModelListener> listeners;
    private final boolean fitContext;

    /** A request started on the pipeline, and what the context fit did to it (null when off). */
    record Started(RefragGeneration generation, ContextFit fit) {
    }

    RefragChat(RefragChatBuilder<?> b) {
        this.refrag = Objects.requireNonNull(b.refrag, "refrag: the pipeline to answer with");
        this.format = Objects.requireNonNull(b.format, "format");
        this.modelName = Objects.requireNonNull(b.modelName, "modelName");
        GenerationOptions g = refrag.defaults().generation();
        ChatRequestParameters pipeline = ChatRequestParameters.builder().modelName(modelName)
                .temperature((double) g.temperature()).topP((double) g.topP()).topK(g.topK())
                .maxOutputTokens(g.maxNewTokens()).stopSequences(g.stopSequences()).build();
        ChatRequestParameters given = b.defaultRequestParameters == null ? pipeline
                : pipeline.overrideWith(b.defaultRequestParameters);
        this.defaults = given.overrideWith(ChatRequestParameters.builder().temperature(b.temperature).topP(b.topP)
                .topK(b.topK).maxOutputTokens(b.maxOutputTokens).stopSequences(b.stopSequences).build());
        this.logRequests = b.logRequests;
        this.logResponses = b.logResponses;
        this.listeners = b.listeners;
        this.fitContext = b.fitContext;
    }

    /** @return the defaults requests start from: the pipeline's, then the builder's, which requests override */
    ChatRequestParameters defaults() {
        return defaults;
    }

    /** @return the listeners langchain4j calls around every request */
    List<ChatModelListener> listeners() {
        return listeners;
    }

    /**
     * Starts a chat request on the pipeline's scheduler and returns at once.
     *
     * @param request the chat request (langchain4j has merged {@link #defaults()} into its parameters)
     * @param listener receives each token on the scheduler thread, or null
     * @return the running request
     * @throws InvalidRequestException for parameters REFRAG does not support (tools, JSON mode, penalties)
     */
    Started start(ChatRequest request, TokenListener listener) {
        ChatRequestParameters p = defaults.overrideWith(request.parameters());
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
        GenerationOptions generation = g.build();
        RefragOptions options = refrag.defaults().toBuilder().optGeneration(generation).build();
        RefragRequest prompt = format.toRequest(request.messages());
        if (logRequests) {
            LOG.info("REFRAG chat request: model {}, parameters {}, messages {}", modelName, p, request.messages());
        }
        ContextFit fit = null;
        if (fitContext) {
            int reserved = Math.min(generation.maxNewTokens(), refrag.decoder().info().maxPositions() / 4);
            fit = refrag.fit(prompt, options, reserved);
            if (fit.droppedPassages() > 0 || fit.options().k() != options.k()) {
                LOG.info("REFRAG fitted a long chat request: {} passage(s) dropped, k {} (was {}), {} positions",
                        fit.droppedPassages(), fit.options().k(), options.k(), fit.length());
            }
            prompt = fit.request();
            options = fit.options();
        }
        return new Started(refrag.generateAsync(prompt, options), fit);
    }

    /**
     * @param r a pipeline result
     * @param fit what the context fit did, or null
     * @return the chat response: the answer, token usage (prefilled positions in, generated tokens out), finish reason
     *     and {@link RefragChatResponseMetadata} with REFRAG's metrics
     */
    ChatResponse response(RefragResult r, ContextFit fit) {
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
                .fit(fit == null ? null : new RefragChatResponseMetadata.Fit(fit.droppedPassages(),
                        fit.options().k()))
                .build();
        ChatResponse response = ChatResponse.builder().aiMessage(AiMessage.from(r.text())).metadata(metadata).build();
        if (logResponses) {
            LOG.info("REFRAG chat response: {} (usage {}, finish {}, refrag {})", r.text(), metadata.tokenUsage(),
                    finish, ResultJson.toJson(r.metrics()));
        }
        return response;
    }
}
