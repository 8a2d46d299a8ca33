package io.refrag.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.refrag.core.Refrag;
import io.refrag.core.RefragGeneration;
import io.refrag.core.RefragResult;
import io.refrag.core.exception.ContextTooLongException;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.QueueFullException;
import io.refrag.core.exception.RefragException;
import io.refrag.core.exception.RequestTimeoutException;
import io.refrag.core.metrics.RefragMeters;
import io.refrag.langchain4j.ChatPromptFormat;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible HTTP server over one REFRAG pipeline, on Javalin (Jetty 12):
 * <ul>
 *   <li>{@code POST /v1/chat/completions} and {@code POST /v1/completions}, whole or streamed as server-sent events
 *   ({@code stream: true}; {@code stream_options.include_usage} adds a usage chunk). Retrieved passages go in the
 *   {@code refrag} extension object ({@code {"passages": [...], "k": 16, "p": 0.25, "policy": "learned"}}) and are
 *   compressed; every answer carries a {@code refrag} object with TTFT, TTIT, compression, expanded chunks and cache
 *   hits;</li>
 *   <li>{@code POST /v1/embeddings}: the pipeline's encoder, so one model serves retrieval and compression;</li>
 *   <li>{@code GET /v1/models}, {@code GET /health} and {@code GET /metrics} (Prometheus, from
 *   {@link RefragMeters}).</li>
 * </ul>
 * Requests run on the pipeline's scheduler with continuous batching. At most {@link ServerOptions#maxRequests()} are
 * admitted at once, and the pipeline's own queue is bounded: past either, 429. A streaming client that goes away
 * cancels its request, which leaves the batch at the next decode step. {@link #close()} refuses new requests (503),
 * lets those in flight finish for the grace period, then cancels the rest, each of which gets an error; none is
 * dropped silently. Every error is OpenAI's {@code {"error": {...}}} shape, never a stack trace.
 */
public final class RefragServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RefragServer.class);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);

    private final Refrag refrag;
    private final ChatPromptFormat format;
    private final ServerOptions options;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final RefragMeters meters;
    private final Semaphore admitted;
    private final Set<RefragGeneration> running = ConcurrentHashMap.newKeySet();
    private final Exchanges exchanges = new Exchanges();
    private final long created = Instant.now().getEpochSecond();
    private final Javalin app;
    private volatile boolean draining;

    private RefragServer(Refrag refrag, ChatPromptFormat format, ServerOptions options) {
        this.refrag = refrag;
        this.format = format;
        this.options = options;
        this.admitted = new Semaphore(options.maxRequests());
        this.meters = new RefragMeters(refrag);
        meters.bindTo(registry);
        this.app = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.http.maxRequestSize = options.maxBodyBytes();
            config.http.compressionStrategy = io.javalin.compression.CompressionStrategy.NONE;
            config.jetty.host = options.host();
            config.jetty.port = options.port();
            config.jetty.modifyServletContextHandler(h -> h.addFilter(new FilterHolder(exchanges), "/*",
                    EnumSet.of(DispatcherType.REQUEST)));
            config.routes.post("/v1/chat/completions", ctx -> complete(ctx, OpenAiResponses.Kind.CHAT));
            config.routes.post("/v1/completions", ctx -> complete(ctx, OpenAiResponses.Kind.TEXT));
            config.routes.post("/v1/embeddings", this::embeddings);
            config.routes.get("/v1/models", ctx -> json(ctx, 200, OpenAiResponses.models(options.modelName(),
                    created)));
            config.routes.get("/health", this::health);
            config.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                    .result(registry.scrape()));
            config.routes.exception(ApiException.class, (e, ctx) -> json(ctx, e.status(), OpenAiResponses.error(e)));
            config.routes.exception(HttpResponseException.class, (e, ctx) -> json(ctx, e.getStatus(),
                    OpenAiResponses.error(new ApiException(e.getStatus(), "invalid_request_error", null, null,
                            e.getStatus() == 413 ? "the request body is larger than the server's limit of "
                                    + options.maxBodyBytes() + " bytes" : e.getMessage()))));
            config.routes.exception(Exception.class, (e, ctx) -> {
                ApiException api = toApi(e);
                if (api.status() == 500) {
                    LOG.error("request failed", e);
                }
                json(ctx, api.status(), OpenAiResponses.error(api));
            });
            config.routes.error(404, ctx -> {
                if (ctx.result() == null) {
                    json(ctx, 404, OpenAiResponses.error(new ApiException(404, "invalid_request_error", null,
                            "not_found", "no route " + ctx.method() + " " + ctx.path() + "; this server serves "
                            + "/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models, /health, /metrics")));
                }
            });
            config.routes.error(405, ctx -> json(ctx, 405, OpenAiResponses.error(new ApiException(405,
                    "invalid_request_error", null, "method_not_allowed", ctx.method() + " is not allowed on "
                    + ctx.path()))));
        });
    }

    /**
     * Starts a server; it serves until {@link #close()}.
     *
     * @param refrag the pipeline (the caller closes it after the server)
     * @param format how chat messages become a prompt ({@link ChatPromptFormat#forDecoder} for a decoder with a chat
     *     template, {@link ChatPromptFormat#plain()} otherwise)
     * @param options where it listens and its bounds
     * @return the running server
     * @throws RefragException if the port cannot be bound
     */
    public static RefragServer start(Refrag refrag, ChatPromptFormat format, ServerOptions options) {
        RefragServer server = new RefragServer(refrag, format, options);
        try {
            server.app.start();
        } catch (RuntimeException e) {
            server.meters.close();
            throw new RefragException("cannot start the server on " + options.host() + ":" + options.port() + ": "
                    + e.getMessage(), e);
        }
        LOG.info("serving '{}' on http://{}:{}/v1", options.modelName(), options.host(), server.port());
        return server;
    }

    /** @return the port it listens on */
    public int port() {
        return app.port();
    }

    /** @return the registry behind {@code /metrics}, to add the application's own meters */
    public PrometheusMeterRegistry registry() {
        return registry;
    }

    private void health(Context ctx) {
        var s = refrag.schedulerStats();
        ObjectNode body = OpenAiResponses.JSON.createObjectNode();
        body.put("status", draining ? "draining" : "ok");
        body.put("model", options.modelName());
        body.put("queued", s.queued());
        body.put("active", s.active());
        json(ctx, draining ? 503 : 200, body);
    }

    private void embeddings(Context ctx) {
        JsonNode body = body(ctx);
        requireModel(body);
        JsonNode input = body.get("input");
        List<String> texts = new ArrayList<>();
        if (input != null && input.isTextual()) {
            texts.add(input.asText());
        } else if (input != null && input.isArray() && !input.isEmpty() && input.size() <= 2048) {
            for (JsonNode t : input) {
                if (!t.isTextual()) {
                    throw ApiException.invalid("input", "'input' must be a string or an array of strings "
                            + "(token arrays are not supported)");
                }
                texts.add(t.asText());
            }
        } else {
            throw ApiException.invalid("input", "'input' must be a string or an array of 1-2048 strings");
        }
        if (texts.stream().anyMatch(String::isEmpty)) {
            throw ApiException.invalid("input", "'input' must not contain empty strings");
        }
        String encoding = body.path("encoding_format").asText("float");
        if (!encoding.equals("float") && !encoding.equals("base64")) {
            throw ApiException.invalid("encoding_format", "encoding_format must be \"float\" or \"base64\", got '"
                    + encoding + "'");
        }
        admit();
        try {
            float[][] vectors = refrag.embed(texts);
            int tokens = texts.stream().mapToInt(t -> refrag.decoder().tokenizer().encode(t).length()).sum();
            json(ctx, 200, OpenAiResponses.embeddings(options.modelName(), vectors, tokens,
                    encoding.equals("base64")));
        } finally {
            admitted.release();
        }
    }

    private void complete(Context ctx, OpenAiResponses.Kind kind) throws IOException {
        JsonNode body = body(ctx);
        requireModel(body);
        OpenAiRequest req = kind == OpenAiResponses.Kind.CHAT ? OpenAiRequest.chat(body, refrag.defaults(), format)
                : OpenAiRequest.completion(body, refrag.defaults());
        admit();
        try {
            if (req.stream()) {
                stream(ctx, kind, req);
            } else {
                whole(ctx, kind, req);
            }
        } finally {
            admitted.release();
        }
    }

    private void whole(Context ctx, OpenAiResponses.Kind kind, OpenAiRequest req) {
        RefragGeneration g = refrag.generateAsync(req.request(), req.options());
        running.add(g);
        try {
            RefragResult r = g.join();
            json(ctx, 200, OpenAiResponses.whole(kind, newId(kind), Instant.now().getEpochSecond(),
                    options.modelName(), r));
        } finally {
            running.remove(g);
        }
    }

    /**
     * Streams one request. Tokens reach this handler's thread through a queue (the scheduler never waits on a client).
     * Nothing is written before the first token or the request's error, so an error found while the prompt is prepared
     * (a context too long) still gets its 4xx. A write that fails (the client went away) cancels the request.
     */
    private void stream(Context ctx, OpenAiResponses.Kind kind, OpenAiRequest req) throws IOException {
        TokenStream tokens = new TokenStream();
        RefragGeneration g = refrag.generateAsync(req.request(), req.options().toBuilder()
                .optGeneration(req.options().generation().toBuilder().optListener(tokens).build()).build());
        running.add(g);
        g.result().whenComplete((r, e) -> tokens.end());
        try {
            String id = newId(kind);
            long now = Instant.now().getEpochSecond();
            String first = tokens.next();
            if (first == null) { // ended before any text: an error gets its status, an empty answer streams as one
                RefragResult r = g.join();
                startEvents(ctx);
                OutputStream out = ctx.res().getOutputStream();
                event(out, OpenAiResponses.delta(kind, id, now, options.modelName(), "", true));
                end(out, kind, id, now, req, r);
                return;
            }
            startEvents(ctx);
            OutputStream out = ctx.res().getOutputStream();
            try {
                event(out, OpenAiResponses.delta(kind, id, now, options.modelName(), first, true));
                for (String delta = tokens.next(); delta != null; delta = tokens.next()) {
                    event(out, OpenAiResponses.delta(kind, id, now, options.modelName(), delta, false));
                }
                RefragResult r;
                try {
                    r = g.join();
                } catch (RuntimeException e) {
                    event(out, OpenAiResponses.error(toApi(e))); // the status is sent: the error goes as an event
                    return;
                }
                end(out, kind, id, now, req, r);
            } catch (IOException clientGone) {
                g.cancel();
                LOG.debug("client went away mid-stream; request cancelled");
            }
        } finally {
            running.remove(g);
        }
    }

    /** Ends a stream: the finish reason and REFRAG's metrics, the usage when asked, then {@code [DONE]}. */
    private void end(OutputStream out, OpenAiResponses.Kind kind, String id, long now, OpenAiRequest req,
            RefragResult r) throws IOException {
        event(out, OpenAiResponses.finish(kind, id, now, options.modelName(), r));
        if (req.includeUsage()) {
            event(out, OpenAiResponses.usageChunk(kind, id, now, options.modelName(), r));
        }
        out.write(DONE);
        out.flush();
    }

    private static void startEvents(Context ctx) {
        ctx.status(200);
        ctx.res().setContentType("text/event-stream; charset=utf-8");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
    }

    private static void event(OutputStream out, JsonNode data) throws IOException {
        out.write(("data: " + OpenAiResponses.JSON.writeValueAsString(data) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private JsonNode body(Context ctx) {
        byte[] bytes = ctx.bodyAsBytes(); // over the limit: 413 from Javalin
        if (bytes.length > options.maxBodyBytes()) {
            throw new ApiException(413, "invalid_request_error", null, "request_too_large", "the request body is "
                    + "larger than the server's limit of " + options.maxBodyBytes() + " bytes");
        }
        try {
            JsonNode n = OpenAiResponses.JSON.readTree(bytes);
            if (n == null || !n.isObject()) {
                throw ApiException.invalid(null, "the request body must be a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw ApiException.invalid(null, "the request body is not valid JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    private void requireModel(JsonNode body) {
        JsonNode model = body.get("model");
        if (model != null && !model.isNull() && !model.asText().equals(options.modelName())) {
            throw new ApiException(404, "invalid_request_error", "model", "model_not_found", "the model '"
                    + model.asText() + "' does not exist here; this server serves '" + options.modelName() + "'");
        }
    }

    private void admit() {
        if (draining) {
            throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
        }
        if (!admitted.tryAcquire()) {
            throw new ApiException(429, "rate_limit_error", null, "queue_full", "the server is at its limit of "
                    + options.maxRequests() + " requests in flight; retry later");
        }
    }

    private static String newId(OpenAiResponses.Kind kind) {
        return kind.idPrefix + UUID.randomUUID().toString().replace("-", "");
    }

    private static void json(Context ctx, int status, JsonNode body) {
        try {
            ctx.status(status).contentType("application/json").result(OpenAiResponses.JSON.writeValueAsString(body));
        } catch (IOException e) {
            throw new RefragException("cannot write JSON", e);
        }
    }

    /** Maps a library exception to the status and OpenAI error type clients expect. */
    static ApiException toApi(Throwable e) {
        Throwable t = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (t instanceof ApiException api) {
            return api;
        }
        if (t instanceof ContextTooLongException) {
            return new ApiException(400, "invalid_request_error", "messages", "context_length_exceeded",
                    t.getMessage());
        }
        if (t instanceof InvalidRequestException) {
            return ApiException.invalid(null, t.getMessage());
        }
        if (t instanceof QueueFullException) {
            return new ApiException(429, "rate_limit_error", null, "queue_full", t.getMessage());
        }
        if (t instanceof RequestTimeoutException) {
            return new ApiException(504, "server_error", null, "timeout", t.getMessage());
        }
        if (t instanceof CancellationException) {
            return new ApiException(503, "server_error", null, "cancelled", "the request was cancelled (the server "
                    + "is shutting down)");
        }
        return new ApiException(500, "server_error", null, null, "internal error: " + t.getClass().getSimpleName());
    }

    /**
     * Stops the server: new requests get 503, requests in flight get {@link ServerOptions#shutdownGrace()} to finish,
     * then the rest are cancelled (each client gets an error); then the listener closes. The pipeline stays open.
     */
    @Override
    public void close() {
        if (draining) {
            return;
        }
        draining = true;
        boolean interrupted = Thread.interrupted(); // the waits and Jetty's stop run to the end; the flag is kept
        long deadline = System.nanoTime() + options.shutdownGrace().toNanos();
        try {
            while (admitted.availablePermits() < options.maxRequests() && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(20);
            }
            running.forEach(RefragGeneration::cancel);
            exchanges.awaitNone(TimeUnit.SECONDS.toNanos(10)); // every response written, the cancelled ones' errors too
        } catch (InterruptedException e) {
            interrupted = true;
        }
        app.stop();
        meters.close();
        registry.close();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Counts HTTP exchanges from request to the last byte of the response, so that shutdown waits for every answer. */
    private static final class Exchanges implements Filter {
        private final AtomicInteger open = new AtomicInteger();

        @Override
        public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain) throws IOException,
                ServletException {
            open.incrementAndGet();
            try {
                chain.doFilter(req, res);
            } finally {
                open.decrementAndGet();
            }
        }

        void awaitNone(long nanos) throws InterruptedException {
            long deadline = System.nanoTime() + nanos;
            while (open.get() > 0 && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(10);
            }
        }
    }
}
