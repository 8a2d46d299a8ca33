package io.refrag.langchain4j;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.FatalTemplateErrorsException;
import com.hubspot.jinjava.interpret.OutputTooBigException;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import io.refrag.core.RefragRequest;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns chat messages into a {@link RefragRequest}: text segments for the conversation, and one compressible context
 * segment wherever a user message carries retrieved passages ({@link RefragContentInjector}).
 *
 * <p>Two formats:
 * <ul>
 *   <li>{@link #template(String, String)}: the decoder's own chat template (the Jinja {@code chat_template} of its
 *   {@code tokenizer_config.json}), rendered as Hugging Face does ({@code messages}, {@code add_generation_prompt =
 *   true}, {@code eos_token}; {@code bos_token} is empty because the pipeline adds BOS itself). A user message with
 *   passages reaches the template as its text followed by {@code "\n\nAnswer using the following information:\n"} and
 *   the passages, as langchain4j's default injector writes it; the passages are compressed, not pasted.</li>
 *   <li>{@link #plain()}, for decoders without a template (base models): a system message becomes its text and a blank
 *   line; a user message becomes {@code "Context:\n"} + passages + {@code "\n\n"} when it has passages, then
 *   {@code "Question: "} + text + {@code "\nAnswer:"}; an AI message becomes {@code " "} + text + {@code "\n\n"}.
 *   A single question with passages is exactly {@link RefragRequest#of(String, List)}.</li>
 * </ul>
 * {@link #forDecoder(Path)} picks the template when the decoder has one.
 */
public final class ChatPromptFormat {
    /** The longest chat template accepted (real ones are a few KB). */
    public static final int MAX_TEMPLATE_CHARS = 1 << 20;
    private static final long MAX_CONFIG_BYTES = 64L << 20;
    private static final SecureRandom NONCES = new SecureRandom();

    private final String template; // null: the plain format
    private final String eosToken;
    private final TemplateLimits limits;
    private final Jinjava jinja; // thread-safe; null for the plain format

    private ChatPromptFormat(String template, String eosToken, TemplateLimits limits) {
        this.template = template;
        this.eosToken = eosToken;
        this.limits = limits;
        this.jinja = template == null ? null : engine(limits);
    }

    /**
     * @return Jinja as Hugging Face renders chat templates (trim and lstrip blocks, {@code raise_exception}), within
     *     the limits: Jinjava's own bounds on output, strings, lists, maps and ranges, and {@link RenderBudget} for
     *     nodes, time and the size of every variable
     */
    private static Jinjava engine(TemplateLimits limits) {
        int elements = (int) Math.min(Integer.MAX_VALUE, limits.maxValueChars());
        Jinjava engine = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withMaxOutputSize(limits.maxOutputChars()).withMaxStringLength(limits.maxValueChars())
                .withMaxListSize(elements).withMaxMapSize(elements).withRangeLimit(limits.maxRangeLength())
                .withNodePreProcessor(new RenderBudget()).build());
        engine.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatPromptFormat.class, "raiseException", String.class));
        return engine;
    }

    /** @return the plain format for decoders without a chat template */
    public static ChatPromptFormat plain() {
        return new ChatPromptFormat(null, "", TemplateLimits.DEFAULT);
    }

    /**
     * @param chatTemplate a Hugging Face Jinja chat template
     * @param eosToken the text of the decoder's EOS token, for templates that write it
     * @return a format that renders through the template within {@link TemplateLimits#DEFAULT}
     */
    public static ChatPromptFormat template(String chatTemplate, String eosToken) {
        return template(chatTemplate, eosToken, TemplateLimits.DEFAULT);
    }

    /**
     * @param chatTemplate a Hugging Face Jinja chat template, at most {@value #MAX_TEMPLATE_CHARS} characters
     * @param eosToken the text of the decoder's EOS token, for templates that write it
     * @param limits bounds on every render
     * @return a format that renders through the template
     * @throws InvalidRequestException if the template is empty or too long
     */
    public static ChatPromptFormat template(String chatTemplate, String eosToken, TemplateLimits limits) {
        if (chatTemplate == null || chatTemplate.isBlank()) {
            throw new InvalidRequestException("chat template is empty");
        }
        if (chatTemplate.length() > MAX_TEMPLATE_CHARS) {
            throw new InvalidRequestException("chat template has " + chatTemplate.length() + " characters; at most "
                    + MAX_TEMPLATE_CHARS + " are accepted");
        }
        return new ChatPromptFormat(chatTemplate, eosToken == null ? "" : eosToken, limits);
    }

    /**
     * @param decoderFolder an HF checkpoint folder
     * @return its {@code tokenizer_config.json} chat template (the {@code default} one where several are named), else
     *     the plain format
     * @throws ModelLoadException if tokenizer_config.json exists but cannot be read
     */
    public static ChatPromptFormat forDecoder(Path decoderFolder) {
        Path file = decoderFolder.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) {
            return plain();
        }
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES) {
                throw new ModelLoadException(file + " has " + Files.size(file) + " bytes; a tokenizer config of at "
                        + "most " + MAX_CONFIG_BYTES + " is read");
            }
            JsonObject config = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
            String chatTemplate = templateOf(config.get("chat_template"));
            return chatTemplate == null ? plain() : template(chatTemplate, tokenText(config.get("eos_token")));
        } catch (IOException | JsonParseException | IllegalStateException | UnsupportedOperationException
                | ClassCastException | NullPointerException e) {
            throw new ModelLoadException("cannot read the chat template in " + file + " (expected \"chat_template\": "
                    + "a string or [{\"name\": ..., \"template\": ...}], and \"eos_token\": a string or "
                    + "{\"content\": ...}): " + e, e);
        }
    }

    private static String templateOf(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (e.isJsonPrimitive()) {
            return e.getAsString();
        }
        for (JsonElement named : e.getAsJsonArray()) { // [{"name": "default", "template": "..."}, ...]
            if ("default".equals(named.getAsJsonObject().get("name").getAsString())) {
                return named.getAsJsonObject().get("template").getAsString();
            }
        }
        return null;
    }

    private static String tokenText(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return "";
        }
        return e.isJsonPrimitive() ? e.getAsString() : e.getAsJsonObject().get("content").getAsString();
    }

    /** @return whether this format renders a chat template */
    public boolean isTemplate() {
        return template != null;
    }

    /**
     * @param messages the conversation, oldest first; system, user and AI messages with text
     * @return the request: text segments, and a context segment for each user message with passages
     * @throws InvalidRequestException for an empty conversation, messages without text, or a template that fails or
     *     drops the retrieved context
     */
    public RefragRequest toRequest(List<ChatMessage> messages) {
        if (messages.isEmpty()) {
            throw new InvalidRequestException("the chat has no messages");
        }
        return template == null ? plainRequest(messages) : templateRequest(messages);
    }

    private static RefragRequest plainRequest(List<ChatMessage> messages) {
        RefragRequest.Builder b = RefragRequest.builder();
        for (ChatMessage m : messages) {
            if (m instanceof SystemMessage s) {
                b.text(s.text() + "\n\n");
            } else if (m instanceof UserMessage u) {
                List<String> passages = RefragContentInjector.passages(u);
                if (!passages.isEmpty()) {
                    b.text("Context:\n").context(passages);
                }
                b.text((passages.isEmpty() ? "" : "\n\n") + "Question: " + textOf(u) + "\nAnswer:");
            } else if (m instanceof AiMessage a) {
                b.text(" " + requireText(a.text(), "AI") + "\n\n");
            } else {
                throw unsupported(m);
            }
        }
        return b.build();
    }

    /**
     * Renders the conversation with a marker where each message's passages go, then splits the prompt at the markers.
     * The markers carry a random nonce drawn for this render, so no message text can forge one, and each must appear
     * exactly once.
     */
    private RefragRequest templateRequest(List<ChatMessage> messages) {
        String marker = "\u0000refrag-context-" + HexFormat.of().toHexDigits(NONCES.nextLong())
                + HexFormat.of().toHexDigits(NONCES.nextLong()) + "-%d\u0000";
        List<Map<String, String>> rendered = new ArrayList<>();
        List<List<String>> contexts = new ArrayList<>();
        for (ChatMessage m : messages) {
            String role;
            String content;
            if (m instanceof SystemMessage s) {
                role = "system";
                content = s.text();
            } else if (m instanceof UserMessage u) {
                role = "user";
                content = textOf(u);
                List<String> passages = RefragContentInjector.passages(u);
                if (!passages.isEmpty()) {
                    content += "\n\nAnswer using the following information:\n" + String.format(marker, contexts.size());
                    contexts.add(passages);
                }
            } else if (m instanceof AiMessage a) {
                role = "assistant";
                content = requireText(a.text(), "AI");
            } else {
                throw unsupported(m);
            }
            Map<String, String> message = new LinkedHashMap<>();
            message.put("role", role);
            message.put("content", content);
            rendered.add(message);
        }
        String prompt = render(rendered);
        RefragRequest.Builder b = RefragRequest.builder();
        int from = 0;
        for (int i = 0; i < contexts.size(); i++) {
            String here = String.format(marker, i);
            int at = prompt.indexOf(here, from);
            if (at < 0 || prompt.indexOf(here, at + 1) >= 0) {
                throw new InvalidRequestException("the chat template " + (at < 0 ? "dropped" : "repeated")
                        + " the retrieved passages of a user message; it must write every message's content once, "
                        + "in order");
            }
            b.text(prompt.substring(from, at)).context(contexts.get(i));
            from = at + here.length();
        }
        return b.text(prompt.substring(from)).build();
    }

    private String render(List<Map<String, String>> messages) {
        Map<String, Object> bindings = new LinkedHashMap<>();
        bindings.put("messages", messages);
        bindings.put("add_generation_prompt", true);
        bindings.put("bos_token", "");
        bindings.put("eos_token", eosToken);
        try {
            return RenderBudget.run(limits, () -> jinja.render(template, bindings));
        } catch (FatalTemplateErrorsException e) {
            List<String> reasons = new ArrayList<>();
            for (TemplateError error : e.getErrors()) {
                InvalidRequestException refused = refusal(error.getException());
                if (refused != null) {
                    throw refused;
                }
                reasons.add(error.getMessage());
            }
            throw new InvalidRequestException("the chat template failed: " + reasons, e);
        } catch (RuntimeException e) {
            InvalidRequestException refused = refusal(e);
            throw refused != null ? refused : new InvalidRequestException("the chat template failed: " + e.getMessage(),
                    e);
        }
    }

    /**
     * @return the reason a render stopped that the caller must see as it is: the template's own {@code raise_exception}
     *     or a passed limit ({@link RenderBudget}, Jinjava's output bound), found along the cause chain; else null
     */
    private InvalidRequestException refusal(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InvalidRequestException refused) {
                return refused;
            }
            if (t instanceof OutputTooBigException) {
                return tooBig(t);
            }
        }
        return null;
    }

    private InvalidRequestException tooBig(Throwable e) {
        return new InvalidRequestException("the chat template's output, or a value it builds, grew past "
                + limits.maxOutputChars() + " characters", e);
    }

    /**
     * The {@code raise_exception} function HF chat templates call to refuse a conversation.
     *
     * @param message the template's reason
     * @return never
     */
    public static String raiseException(String message) {
        throw new InvalidRequestException("the chat template refused the conversation: " + message);
    }

    private static String textOf(UserMessage u) {
        if (!u.hasSingleText()) {
            throw new InvalidRequestException("REFRAG reads text only; a user message holds " + u.contents().size()
                    + " contents of types " + u.contents().stream().map(c -> c.type().name()).toList());
        }
        return requireText(u.singleText(), "user");
    }

    private static String requireText(String text, String role) {
        if (text == null) {
            throw new InvalidRequestException("a " + role + " message has no text (tool calls are not supported)");
        }
        return text;
    }

    private static InvalidRequestException unsupported(ChatMessage m) {
        return new InvalidRequestException("REFRAG chat supports system, user and AI messages, not " + m.type());
    }
}
