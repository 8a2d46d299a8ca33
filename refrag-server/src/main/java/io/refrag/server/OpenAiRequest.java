package io.refrag.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import io.refrag.core.RefragOptions;
import io.refrag.core.RefragRequest;
import io.refrag.core.generate.GenerationOptions;
import io.refrag.langchain4j.ChatPromptFormat;
import io.refrag.langchain4j.RefragContentInjector;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One {@code /v1/chat/completions} or {@code /v1/completions} body, checked and turned into a REFRAG request and its
 * options. OpenAI's fields that REFRAG implements are honoured ({@code model}, {@code messages} / {@code prompt},
 * {@code max_tokens} / {@code max_completion_tokens}, {@code temperature}, {@code top_p}, {@code stop}, {@code seed},
 * {@code stream}, {@code stream_options.include_usage}); those that would change the answer and are not implemented
 * ({@code n > 1}, {@code tools}, a JSON {@code response_format}, {@code logprobs}, penalties) are refused; other fields
 * are ignored, as OpenAI-compatible servers do. The {@code refrag} extension is checked strictly: see
 * {@link Extension}.
 *
 * @param request the segments
 * @param options the pipeline's defaults with this request's settings
 * @param stream whether the answer streams as server-sent events
 * @param includeUsage whether a streamed answer ends with a usage chunk
 */
record OpenAiRequest(RefragRequest request, RefragOptions options, boolean stream, boolean includeUsage) {
    private static final ObjectMapper STRICT = new ObjectMapper()
            .configure(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true);
    private static final int MAX_PASSAGES = 4096;
    private static final int MAX_STOP = 16;

    /**
     * The {@code refrag} extension object of a request: passages to compress, and REFRAG's settings for this request.
     * Unknown fields are refused, so a misspelt setting is never silently ignored.
     *
     * @param passages retrieved passages, compressed as the request's context (at most 4,096)
     * @param k decoder tokens per chunk (8, 16 or 32; the pipeline's default when absent)
     * @param p fraction of chunks to expand back into tokens, 0-1
     * @param policy the expansion policy's name
     * @param fullContext feed every passage as tokens (the uncompressed baseline)
     * @param topK top-k sampling (0 = off)
     */
    @JsonIgnoreProperties(ignoreUnknown = false)
    record Extension(List<String> passages, Integer k, Double p, String policy,
            @JsonProperty("full_context") Boolean fullContext, @JsonProperty("top_k") Integer topK) {
        static final String FIELDS = "passages, k, p, policy, full_context, top_k";
    }

    /**
     * @param body a chat completions body
     * @param defaults the pipeline's defaults
     * @param format how messages become a prompt
     * @return the request
     * @throws ApiException 400 with the field at fault
     */
    static OpenAiRequest chat(JsonNode body, RefragOptions defaults, ChatPromptFormat format) {
        Extension ext = extension(body);
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.invalid("messages", "'messages' must be a non-empty array of {role, content}");
        }
        List<ChatMessage> chat = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            chat.add(message(messages.get(i), i));
        }
        if (ext.passages() != null && !ext.passages().isEmpty()) {
            int last = lastUser(chat);
            UserMessage u = (UserMessage) chat.get(last);
            chat.set(last, u.toBuilder().attributes(Map.of(RefragContentInjector.PASSAGES_ATTRIBUTE,
                    ext.passages())).build());
        }
        int maxTokens = intField(body, "max_completion_tokens", intField(body, "max_tokens", -1));
        return new OpenAiRequest(format.toRequest(chat), options(body, ext, defaults, maxTokens), stream(body),
                includeUsage(body));
    }

    /**
     * @param body a completions body ({@code prompt}: a string, or an array of one string)
     * @param defaults the pipeline's defaults
     * @return the request: the passages as context, then the prompt
     * @throws ApiException 400 with the field at fault
     */
    static OpenAiRequest completion(JsonNode body, RefragOptions defaults) {
        Extension ext = extension(body);
        JsonNode prompt = body.get("prompt");
        if (prompt != null && prompt.isArray() && prompt.size() == 1) {
            prompt = prompt.get(0);
        }
        if (prompt == null || !prompt.isTextual()) {
            throw ApiException.invalid("prompt", "'prompt' must be a string (or an array of one string); batches of "
                    + "prompts are not supported: send one request each");
        }
        RefragRequest.Builder b = RefragRequest.builder();
        if (ext.passages() != null && !ext.passages().isEmpty()) {
            b.context(ext.passages());
        }
        b.text(prompt.asText());
        int maxTokens = intField(body, "max_tokens", 16); // OpenAI's default for completions
        return new OpenAiRequest(b.build(), options(body, ext, defaults, maxTokens), stream(body), includeUsage(body));
    }

    private static Extension extension(JsonNode body) {
        if (!body.isObject()) {
            throw ApiException.invalid(null, "the request body must be a JSON object");
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.isInt() && n.asInt() == 1)) {
            throw ApiException.invalid("n", "'n' must be 1: REFRAG generates one choice per request");
        }
        JsonNode tools = body.get("tools");
        if (tools != null && !(tools.isArray() && tools.isEmpty()) && !tools.isNull()) {
            throw ApiException.invalid("tools", "REFRAG does not call tools");
        }
        JsonNode format = body.get("response_format");
        if (format != null && !format.isNull() && !"text".equals(format.path("type").asText())) {
            throw ApiException.invalid("response_format", "REFRAG answers in text only (response_format {\"type\": "
                    + "\"text\"})");
        }
        for (String f : List.of("logprobs", "top_logprobs", "frequency_penalty", "presence_penalty", "logit_bias")) {
            JsonNode v = body.get(f);
            if (v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean()) && !(v.isNumber() && v.asDouble() == 0)
                    && !(v.isObject() && v.isEmpty())) {
                throw ApiException.invalid(f, "'" + f + "' is not supported by REFRAG; leave it out");
            }
        }
        JsonNode ext = body.get("refrag");
        if (ext == null || ext.isNull()) {
            return new Extension(null, null, null, null, null, null);
        }
        if (!ext.isObject()) {
            throw ApiException.invalid("refrag", "'refrag' must be an object with: " + Extension.FIELDS);
        }
        Extension e;
        try {
            e = STRICT.treeToValue(ext, Extension.class);
        } catch (UnrecognizedPropertyException u) {
            throw ApiException.invalid("refrag." + u.getPropertyName(), "unknown field '" + u.getPropertyName()
                    + "' in 'refrag'; allowed: " + Extension.FIELDS);
        } catch (IOException io) {
            throw ApiException.invalid("refrag", "'refrag' is malformed (" + firstLine(io.getMessage())
                    + "); allowed fields: " + Extension.FIELDS + " (passages: an array of strings)");
        }
        if (e.passages() != null) {
            if (e.passages().size() > MAX_PASSAGES) {
                throw ApiException.invalid("refrag.passages", "at most " + MAX_PASSAGES + " passages, got "
                        + e.passages().size());
            }
            if (e.passages().stream().anyMatch(p -> p == null || p.isBlank())) {
                throw ApiException.invalid("refrag.passages", "passages must be non-blank strings");
            }
        }
        return e;
    }

    private static RefragOptions options(JsonNode body, Extension ext, RefragOptions defaults, int maxTokens) {
        GenerationOptions.Builder g = defaults.generation().toBuilder();
        if (maxTokens != -1) {
            if (maxTokens < 1) {
                throw ApiException.invalid("max_tokens", "max_tokens must be at least 1, got " + maxTokens);
            }
            g.optMaxNewTokens(maxTokens);
        }
        JsonNode t = body.get("temperature");
        if (t != null && !t.isNull()) {
            g.optTemperature((float) number(t, "temperature"));
        }
        JsonNode topP = body.get("top_p");
        if (topP != null && !topP.isNull()) {
            g.optTopP((float) number(topP, "top_p"));
        }
        JsonNode seed = body.get("seed");
        if (seed != null && !seed.isNull()) {
            if (!seed.canConvertToLong()) {
                throw ApiException.invalid("seed", "'seed' must be an integer");
            }
            g.optSeed(seed.asLong());
        }
        List<String> stop = stop(body.get("stop"));
        if (stop != null) {
            g.optStopSequences(stop);
        }
        if (ext.topK() != null) {
            g.optTopK(ext.topK());
        }
        RefragOptions.Builder o = defaults.toBuilder().optGeneration(g.build());
        if (ext.k() != null) {
            o.optK(ext.k());
        }
        if (ext.p() != null) {
            o.optExpansionFraction(ext.p());
        }
        if (ext.policy() != null) {
            o.optPolicy(ext.policy());
        }
        if (ext.fullContext() != null) {
            o.optFullContext(ext.fullContext());
        }
        return o.build();
    }

    private static List<String> stop(JsonNode stop) {
        if (stop == null || stop.isNull()) {
            return null;
        }
        List<String> out = new ArrayList<>();
        if (stop.isTextual()) {
            out.add(stop.asText());
        } else if (stop.isArray() && stop.size() <= MAX_STOP) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw ApiException.invalid("stop", "'stop' must be a string or an array of strings");
                }
                out.add(s.asText());
            }
        } else {
            throw ApiException.invalid("stop", "'stop' must be a string or an array of at most " + MAX_STOP
                    + " strings");
        }
        return out;
    }

    private static ChatMessage message(JsonNode m, int i) {
        String where = "messages[" + i + "]";
        if (!m.isObject()) {
            throw ApiException.invalid(where, where + " must be an object {role, content}");
        }
        String role = m.path("role").asText("");
        String text = content(m.get("content"), where);
        return switch (role) {
            case "system", "developer" -> SystemMessage.from(text);
            case "user" -> UserMessage.from(text);
            case "assistant" -> AiMessage.from(text);
            default -> throw ApiException.invalid(where + ".role", where + ".role must be system, developer, user "
                    + "or assistant; got '" + role + "'");
        };
    }

    private static String content(JsonNode c, String where) {
        if (c != null && c.isTextual()) {
            return c.asText();
        }
        if (c != null && c.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : c) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.invalid(where + ".content", "only text content parts ({\"type\": \"text\", "
                            + "\"text\": ...}) are supported");
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        throw ApiException.invalid(where + ".content", where + ".content must be a string or an array of text parts");
    }

    private static int lastUser(List<ChatMessage> chat) {
        for (int i = chat.size() - 1; i >= 0; i--) {
            if (chat.get(i) instanceof UserMessage) {
                return i;
            }
        }
        throw ApiException.invalid("refrag.passages", "passages go with a user message, and the chat has none");
    }

    private static boolean stream(JsonNode body) {
        JsonNode s = body.get("stream");
        if (s != null && !s.isNull() && !s.isBoolean()) {
            throw ApiException.invalid("stream", "'stream' must be true or false");
        }
        return s != null && s.asBoolean();
    }

    private static boolean includeUsage(JsonNode body) {
        return body.path("stream_options").path("include_usage").asBoolean(false);
    }

    private static int intField(JsonNode body, String field, int absent) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return absent;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw ApiException.invalid(field, "'" + field + "' must be an integer");
        }
        return v.asInt();
    }

    private static double number(JsonNode v, String field) {
        if (!v.isNumber()) {
            throw ApiException.invalid(field, "'" + field + "' must be a number");
        }
        return v.asDouble();
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.lines().findFirst().orElse("");
    }

}
