package io.refrag.server;

import io.refrag.core.exception.InvalidRequestException;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link RefragServer} listens and bounds its work. Immutable; start from {@link #defaults()}.
 *
 * @param host the interface to bind ({@code 127.0.0.1} by default: expose it on purpose)
 * @param port the TCP port; 0 picks a free one ({@link RefragServer#port()} tells which)
 * @param modelName the model id clients send and {@code /v1/models} lists
 * @param maxBodyBytes the largest request body; a larger one is answered 413
 * @param maxRequests requests admitted at once (generating or waiting for a batch slot); past it, 429
 * @param shutdownGrace how long {@link RefragServer#close()} lets requests in flight finish before it cancels them
 */
public record ServerOptions(String host, int port, String modelName, long maxBodyBytes, int maxRequests,
        Duration shutdownGrace) {

    /** The default body limit: passages for a long context with room to spare. */
    public static final long DEFAULT_MAX_BODY_BYTES = 4L << 20;

    /** Checks every field. */
    public ServerOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(modelName, "modelName");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        if (port < 0 || port > 65535) {
            throw new InvalidRequestException("port must be 0-65535, got " + port);
        }
        if (modelName.isBlank()) {
            throw new InvalidRequestException("the model name must not be blank");
        }
        if (maxBodyBytes < 1024) {
            throw new InvalidRequestException("the body limit must be at least 1024 bytes, got " + maxBodyBytes);
        }
        if (maxRequests < 1) {
            throw new InvalidRequestException("maxRequests must be at least 1, got " + maxRequests);
        }
        if (shutdownGrace.isNegative()) {
            throw new InvalidRequestException("the shutdown grace must not be negative, got " + shutdownGrace);
        }
    }

    /** @return localhost, port 8080, model {@code refrag}, 4 MiB bodies, 256 requests, 30 s grace */
    public static ServerOptions defaults() {
        return new ServerOptions("127.0.0.1", 8080, "refrag", DEFAULT_MAX_BODY_BYTES, 256, Duration.ofSeconds(30));
    }

    /** @param p the port @return these options on that port */
    public ServerOptions withPort(int p) {
        return new ServerOptions(host, p, modelName, maxBodyBytes, maxRequests, shutdownGrace);
    }

    /** @param h the interface @return these options bound there */
    public ServerOptions withHost(String h) {
        return new ServerOptions(h, port, modelName, maxBodyBytes, maxRequests, shutdownGrace);
    }

    /** @param name the model id @return these options serving that id */
    public ServerOptions withModelName(String name) {
        return new ServerOptions(host, port, name, maxBodyBytes, maxRequests, shutdownGrace);
    }

    /** @param bytes the body limit @return these options with it */
    public ServerOptions withMaxBodyBytes(long bytes) {
        return new ServerOptions(host, port, modelName, bytes, maxRequests, shutdownGrace);
    }

    /** @param n requests admitted at once @return these options with it */
    public ServerOptions withMaxRequests(int n) {
        return new ServerOptions(host, port, modelName, maxBodyBytes, n, shutdownGrace);
    }

    /** @param grace the shutdown grace @return these options with it */
    public ServerOptions withShutdownGrace(Duration grace) {
        return new ServerOptions(host, port, modelName, maxBodyBytes, maxRequests, grace);
    }
}
