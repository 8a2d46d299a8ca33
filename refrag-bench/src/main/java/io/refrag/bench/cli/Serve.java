package io.refrag.bench.cli;

import io.refrag.core.Refrag;
import io.refrag.core.RefragManifest;
import io.refrag.langchain4j.ChatPromptFormat;
import io.refrag.server.RefragServer;
import io.refrag.server.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.CountDownLatch;

/**
 * {@code serve}: an OpenAI-compatible HTTP server over a REFRAG pipeline ({@link RefragServer}) until the process is
 * stopped (Ctrl-C, SIGTERM) or its thread interrupted; in-flight requests then finish within the grace period or are
 * cancelled with an error.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve a REFRAG model over an OpenAI-compatible API: /v1/chat/completions, /v1/completions "
            + "(whole or streamed), /v1/embeddings, /v1/models, /health, /metrics (Prometheus).",
            "Passages go in the request's \"refrag\" object: {\"passages\": [...], \"k\": 16, \"p\": 0.25, "
            + "\"policy\": \"learned\"}.",
            "Example:",
            "  serve --model models/refrag-stories260k-k8 --port 8080"})
final class Serve extends CliCommand {
    @Mixin
    CliOptions.Models models;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR",
            description = "interface to listen on (default: ${DEFAULT-VALUE}; 0.0.0.0 for every interface)")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "N",
            description = "TCP port, 0 for a free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--model-name", paramLabel = "NAME",
            description = "the model id clients send (default: the --model folder's name or hub id)")
    String modelName;

    @Option(names = "--max-requests", defaultValue = "256", paramLabel = "N",
            description = "requests admitted at once, generating or queued; past it 429 (default: ${DEFAULT-VALUE})")
    int maxRequests;

    @Option(names = "--max-body-bytes", defaultValue = "" + ServerOptions.DEFAULT_MAX_BODY_BYTES, paramLabel = "N",
            description = "largest request body; past it 413 (default: ${DEFAULT-VALUE})")
    long maxBodyBytes;

    @Option(names = "--shutdown-grace-seconds", defaultValue = "30", paramLabel = "S",
            description = "on stop, how long requests in flight may finish before they are cancelled "
                + "(default: ${DEFAULT-VALUE})")
    int graceSeconds;

    @Mixin
    CliOptions.Device device;

    @Override
    void execute() {
        String name = modelName != null ? modelName : models.model != null
                ? java.nio.file.Path.of(models.model.split("@")[0]).getFileName().toString() : "refrag";
        ServerOptions options = ServerOptions.defaults().withHost(host).withPort(port).withModelName(name)
                .withMaxRequests(maxRequests).withMaxBodyBytes(maxBodyBytes)
                .withShutdownGrace(java.time.Duration.ofSeconds(Math.max(0, graceSeconds)));
        RefragManifest manifest = models.manifest(true, null, err());
        CountDownLatch stopped = new CountDownLatch(1);
        boolean interrupted = false;
        try (Refrag refrag = Refrag.open(manifest, device.modelOptions());
                RefragServer server = RefragServer.start(refrag, ChatPromptFormat.forDecoder(manifest.decoder()),
                        options)) {
            Thread hook = new Thread(() -> {
                server.close();
                stopped.countDown();
            }, "refrag-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            out().printf("serving '%s' on http://%s:%d/v1 (Ctrl-C stops)%n", name, host, server.port());
            out().flush();
            try {
                stopped.await();
            } catch (InterruptedException e) { // stopped by the embedding program: close, then keep the flag
                interrupted = true;
                Runtime.getRuntime().removeShutdownHook(hook);
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
