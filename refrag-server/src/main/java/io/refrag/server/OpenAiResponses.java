package io.refrag.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.refrag.core.RefragMetrics;
import io.refrag.core.RefragResult;
import io.refrag.core.generate.FinishReason;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;

/**
 * The JSON the server answers with, in OpenAI's shapes. Each response also carries a {@code refrag} object with what
 * REFRAG did: TTFT and TTIT in ms, throughput, the positions prefilled against the full context's, chunks, expanded
 * chunks and cache hits.
 */
final class OpenAiResponses {
    static final ObjectMapper JSON = new ObjectMapper();

    /** Whether the answer is a chat completion or a text completion. */
    enum Kind {
        CHAT("chat.completion", "chatcmpl-"),
        TEXT("text_completion", "cmpl-");

        final String object;
        final String idPrefix;

        Kind(String object, String idPrefix) {
            this.object = object;
            this.idPrefix = idPrefix;
        }
    }

    private OpenAiResponses() {
    }

    /** @return the whole answer */
    static ObjectNode whole(Kind kind, String id, long created, String model, RefragResult r) {
        ObjectNode root = head(kind.object, id, created, model);
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == Kind.CHAT) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", r.text());
            message.putNull("refusal");
        } else {
            choice.put("text", r.text());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(r.generation().finishReason()));
        usage(root, r);
        root.set("refrag", refrag(r.metrics()));
        return root;
    }

    /** @return a streamed chunk holding one text delta (the first one also names the role) */
    static ObjectNode delta(Kind kind, String id, long created, String model, String text, boolean first) {
        ObjectNode root = head(kind.object + (kind == Kind.CHAT ? ".chunk" : ""), id, created, model);
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        if (kind == Kind.CHAT) {
            ObjectNode delta = choice.putObject("delta");
            if (first) {
                delta.put("role", "assistant");
            }
            delta.put("content", text);
        } else {
            choice.put("text", text);
        }
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return root;
    }

    /** @return the streamed chunk that ends the choice: its finish reason, and REFRAG's metrics */
    static ObjectNode finish(Kind kind, String id, long created, String model, RefragResult r) {
        ObjectNode root = delta(kind, id, created, model, "", false);
        ObjectNode choice = (ObjectNode) root.get("choices").get(0);
        if (kind == Kind.CHAT) {
            ((ObjectNode) choice.get("delta")).remove("content");
        }
        choice.put("finish_reason", finishReason(r.generation().finishReason()));
        root.set("refrag", refrag(r.metrics()));
        return root;
    }

    /** @return the last streamed chunk when the client asked for usage: no choices, the usage */
    static ObjectNode usageChunk(Kind kind, String id, long created, String model, RefragResult r) {
        ObjectNode root = head(kind.object + (kind == Kind.CHAT ? ".chunk" : ""), id, created, model);
        root.putArray("choices");
        usage(root, r);
        root.set("refrag", refrag(r.metrics()));
        return root;
    }

    /** @return {@code {"error": {...}}} */
    static ObjectNode error(ApiException e) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type());
        error.put("param", e.param());
        error.put("code", e.code());
        return root;
    }

    /** @return {@code GET /v1/models}'s answer: the one model served */
    static ObjectNode models(String model, long created) {
        ObjectNode root = JSON.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        ObjectNode m = data.addObject();
        m.put("id", model);
        m.put("object", "model");
        m.put("created", created);
        m.put("owned_by", "refrag");
        return root;
    }

    /**
     * @param base64 each vector as base64 of its little-endian float32 bytes (what OpenAI's SDKs ask for), else an
     *     array of numbers
     * @return {@code POST /v1/embeddings}'s answer
     */
    static ObjectNode embeddings(String model, float[][] vectors, int promptTokens, boolean base64) {
        ObjectNode root = JSON.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (int i = 0; i < vectors.length; i++) {
            ObjectNode e = data.addObject();
            e.put("object", "embedding");
            e.put("index", i);
            if (base64) {
                ByteBuffer bytes = ByteBuffer.allocate(vectors[i].length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                bytes.asFloatBuffer().put(vectors[i]);
                e.put("embedding", Base64.getEncoder().encodeToString(bytes.array()));
            } else {
                ArrayNode v = e.putArray("embedding");
                for (float x : vectors[i]) {
                    v.add(x);
                }
            }
        }
        root.put("model", model);
        ObjectNode usage = root.putObject("usage");
        usage.put("prompt_tokens", promptTokens);
        usage.put("total_tokens", promptTokens);
        return root;
    }

    private static ObjectNode head(String object, String id, long created, String model) {
        ObjectNode root = JSON.createObjectNode();
        root.put("id", id);
        root.put("object", object);
        root.put("created", created);
        root.put("model", model);
        return root;
    }

    private static void usage(ObjectNode root, RefragResult r) {
        ObjectNode usage = root.putObject("usage");
        int in = r.decoderInputLength();
        int out = r.generation().generatedTokens();
        usage.put("prompt_tokens", in);
        usage.put("completion_tokens", out);
        usage.put("total_tokens", in + out);
    }

    private static ObjectNode refrag(RefragMetrics m) {
        ObjectNode o = JSON.createObjectNode();
        o.put("ttft_ms", m.ttftMillis());
        o.put("ttit_ms", m.ttitMillis());
        o.put("throughput_tokens_per_s", m.throughputTokensPerSecond());
        o.put("decoder_input_length", m.decoderInputLength());
        o.put("full_context_tokens", m.fullContextTokens());
        o.put("compression_ratio", m.compressionRatio());
        o.put("total_chunks", m.totalChunks());
        o.put("expanded_chunks", m.expandedChunks());
        o.put("cache_hits", m.cacheHits());
        return o;
    }

    private static String finishReason(FinishReason f) {
        return f == FinishReason.STOP ? "stop" : "length";
    }
}
