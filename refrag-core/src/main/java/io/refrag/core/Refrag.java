package io.refrag.core;

import io.refrag.core.cache.ChunkEmbeddingCache;
import io.refrag.core.cache.ChunkStore;
import io.refrag.core.cache.DiskChunkCache;
import io.refrag.core.cache.LruChunkCache;
import io.refrag.core.cache.TieredChunkCache;
import io.refrag.core.chunk.ChunkEmbedder;
import io.refrag.core.exception.ContextTooLongException;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.QueueFullException;
import io.refrag.core.exception.RefragException;
import io.refrag.core.exception.RequestTimeoutException;
import io.refrag.core.generate.BatchedGenerator;
import io.refrag.core.generate.SchedulerStats;
import io.refrag.core.hub.HfHub;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.Compression;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Projector;
import io.refrag.core.spi.Providers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The REFRAG pipeline: chunk the context, encode and project chunks (through the cache), let a policy pick chunks to
 * expand, assemble the mixed decoder input (text tokens, one embedding per compressed chunk, the tokens of each
 * expanded chunk, in document order) and generate. Thread-safe: one pipeline serves concurrent requests, all of them
 * on its scheduler thread, which batches their decode steps ({@link #generateAsync}).
 *
 * <p>The pipeline owns its parts: {@link #close()} closes the decoder, encoder, projector, policies and cache.
 */
public final class Refrag implements AutoCloseable {
    /** How long {@link #close()} waits for requests in flight. */
    public static final int CLOSE_WAIT_SECONDS = Lifecycle.CLOSE_WAIT_SECONDS;
    private static final Logger LOG = LoggerFactory.getLogger(Refrag.class);
    private final CausalDecoder decoder;
    private final ChunkEncoder encoder;
    private final Projector projector;
    private final ChunkEmbeddingCache cache;
    private final ChunkStore chunkStore;
    private final BatchedGenerator scheduler; // runs every request's native work on one thread, batching decode steps
    private final RefragOptions defaults;
    private final String defaultPolicy;
    private final Lifecycle lifecycle = new Lifecycle();
    private final RequestPipeline pipeline;
    private final List<RefragListener> listeners = new CopyOnWriteArrayList<>();

    Refrag(RefragBuilder b) {
        this.decoder = b.decoder;
        this.encoder = b.encoder;
        this.projector = b.projector;
        this.cache = b.cache;
        this.chunkStore = b.openedStore;
        this.scheduler = new BatchedGenerator(b.decoder, b.maxBatch, b.maxQueue, b.requestTimeout);
        this.defaults = b.defaults;
        this.defaultPolicy = b.policyName;
        this.pipeline = new RequestPipeline(decoder, encoder, encoder == null ? null
                : new ChunkEmbedder(encoder, projector, cache), b.policyName, b.policyFile, b.modelOptions, b.policy,
                lifecycle);
    }

    /** @return a builder; the decoder is required, the encoder for REFRAG (non-full-context) requests */
    public static RefragBuilder builder() {
        return new RefragBuilder();
    }

    /**
     * Loads a pipeline from a REFRAG folder: the parts and defaults its {@code refrag.json} names (see
     * {@link RefragManifest}).
     *
     * @param dir the folder
     * @param options device and precision of every model
     * @return the pipeline
     */
    public static Refrag load(Path dir, ModelOptions options) {
        return open(RefragManifest.read(dir), options);
    }

    /**
     * Loads a pipeline from a REFRAG folder given by path or by Hugging Face id ({@code owner/name[@revision]},
     * through the hub cache the environment configures; see {@link HfHub}).
     *
     * @param folderOrId a folder holding {@code refrag.json}, or the id of a hub repository holding one
     * @param options device and precision of every model
     * @return the pipeline
     */
    public static Refrag load(String folderOrId, ModelOptions options) {
        return open(ModelSelection.folder(folderOrId).resolve(HfHub.fromEnvironment(), false,
                ModelSelection.FIELD_NAMES), options);
    }

    /**
     * Opens a pipeline from a manifest; every part opened so far is closed if a later one fails. LoRA adapters the
     * manifest names are merged into their base weights as those load, unless the options ask for them unmerged
     * ({@link ModelOptions#withUnmergedAdapter}).
     *
     * @param m the parts and defaults
     * @param options device and precision of every model
     * @return the pipeline
     */
    public static Refrag open(RefragManifest m, ModelOptions options) {
        RefragBuilder b = builder().optModelOptions(options);
        Refrag refrag;
        try {
            if (options.adapter() != null) {
                throw new InvalidRequestException("a pipeline's adapters are named per part in its manifest "
                        + "(encoderAdapter, decoderAdapter; RefragManifest.withAdapters), not in ModelOptions");
            }
            if (m.encoderAdapter() != null && m.encoder() == null) {
                throw new InvalidRequestException("refrag.json names an encoderAdapter but no encoder to adapt");
            }
            b.setDecoder(Providers.loadDecoder(m.decoder(), options.withAdapter(m.decoderAdapter())));
            if (m.encoder() != null) {
                b.optEncoder(Providers.loadEncoder(m.encoder(), options.withAdapter(m.encoderAdapter()),
                        m.pooling()));
            }
            if (m.projector() != null) {
                if (m.encoder() == null) {
                    throw new InvalidRequestException("refrag.json names a projector but no encoder to feed it");
                }
                b.optProjector(Providers.projectors().load(m.projector(), b.encoder.hiddenSize(),
                        b.decoder.info().hiddenSize(), options));
            }
            b.optPolicy(m.policy(), m.policyFile());
            b.optDefaults(RefragOptions.builder().optK(m.k()).optExpansionFraction(m.p()).build());
            LruChunkCache memory = new LruChunkCache(m.cacheEntries());
            b.optCache(m.cacheDir() == null ? memory
                    : new TieredChunkCache(memory, new DiskChunkCache(m.cacheDir(), b.decoder.info().hiddenSize(),
                            1024)));
            b.optChunkStore(m.chunkStore());
            refrag = b.build();
        } catch (RuntimeException e) {
            b.closeParts();
            throw e;
        }
        try {
            if (!m.policy().equals(PolicyNames.NONE)) {
                refrag.pipeline.policy(m.policy()); // a bad policy name or file fails here, not at the first request
            }
        } catch (RuntimeException e) {
            refrag.close();
            throw e;
        }
        return refrag;
    }

    /** @return the decoder */
    public CausalDecoder decoder() {
        return decoder;
    }

    /** @return the chunk-embedding cache */
    public ChunkEmbeddingCache cache() {
        return cache;
    }

    /**
     * @return the chunk store read below the cache (its hit, miss and damaged-entry counts), if the pipeline reads one
     */
    public Optional<ChunkStore> chunkStore() {
        return Optional.ofNullable(chunkStore);
    }

    /** @return the name of the policy requests use unless their options name one */
    public String defaultPolicy() {
        return defaultPolicy;
    }

    /** @return the pipeline's default options */
    public RefragOptions defaults() {
        return defaults;
    }

    /**
     * Answers a question over passages with the default prompt template and options.
     *
     * @param question the question
     * @param passages retrieved passages
     * @return the result
     */
    public RefragResult generate(String question, List<String> passages) {
        return generate(RefragRequest.of(question, passages), defaults);
    }

    /**
     * Encodes a corpus's chunks into the cache ahead of requests, and makes them durable where the cache has a
     * persistent tier ({@link ChunkEmbeddingCache#persist()}).
     *
     * @param passages passages as they will appear in requests
     * @param k chunk size the requests will use (checked as a request's k is, before any work)
     * @param progress receives the chunks done so far and the total after each encoder batch (may be null)
     * @return number of chunks
     * @throws io.refrag.core.exception.RefragException if k is out of range, or the persistent tier cannot be
     *     written (checked before encoding and again after)
     */
    public int precompute(List<String> passages, int k, BiConsumer<Integer, Integer> progress) {
        return lifecycle.inFlight(() -> {
            List<String> texts = pipeline.chunkTexts(passages, Compression.requireK(k));
            cache.persist();
            pipeline.requireEncoder().precompute(texts, 256, progress == null ? null
                    : done -> progress.accept(done, texts.size()));
            cache.persist();
            return texts.size();
        });
    }

    /**
     * Embeds texts with the pipeline's encoder: its pooled output, one vector per text (what {@code /v1/embeddings}
     * serves, so that retrieval and compression share one model). Runs on the calling thread.
     *
     * @param texts the texts, each within the encoder's input length
     * @return one vector of {@link ChunkEncoder#hiddenSize()} values per text
     * @throws InvalidRequestException if the pipeline has no encoder
     */
    public float[][] embed(List<String> texts) {
        if (encoder == null) {
            throw new InvalidRequestException("this pipeline has no encoder (a decoder-only pipeline cannot embed)");
        }
        return lifecycle.inFlight(() -> encoder.encode(texts));
    }

    /** @return the encoder's output width, or 0 when the pipeline has no encoder */
    public int embeddingSize() {
        return encoder == null ? 0 : encoder.hiddenSize();
    }

    /**
     * Positions the request takes in full-context mode (BOS, text tokens, every passage token), computed by
     * tokenization alone.
     *
     * @param request the request
     * @return the full-context length
     */
    public int fullContextTokens(RefragRequest request) {
        return lifecycle.inFlight(() -> pipeline.planHere(request, defaults.k()).fullContextLength());
    }

    /**
     * Makes an over-long request fit the decoder with {@code reserved} positions left for the answer, by the opt-in
     * policy {@link ContextFit} describes: the lowest-ranked passages go first, then k is raised. A request that fits
     * comes back unchanged. Tokenization only; runs on the calling thread.
     *
     * @param request the request
     * @param options its options
     * @param reserved positions to keep free for the answer
     * @return the request that fits, and what was done
     * @throws ContextTooLongException if one passage at the largest k still does not fit
     */
    public ContextFit fit(RefragRequest request, RefragOptions options, int reserved) {
        int limit = decoder.info().maxPositions() - reserved;
        return lifecycle.inFlight(() -> ContextFit.fit(request, options, limit,
                (r, k) -> ContextFit.longest(pipeline.planHere(r, k), options)));
    }

    /**
     * The leading passages whose full context fits the decoder with room left for the answer: what a front end feeds
     * when it sets full context and REFRAG side by side on the same passages, or trims a retrieval to the decoder.
     *
     * @param request builds the request around a list of passages (e.g. {@code ps -> RefragRequest.of(q, ps)})
     * @param passages the candidates, in order
     * @param reserved positions to keep free (the tokens to generate)
     * @return the longest prefix of {@code passages} that fits, at least one passage
     * @throws ContextTooLongException if not even the first passage fits
     */
    public List<String> fittingPassages(Function<List<String>, RefragRequest> request, List<String> passages,
            int reserved) {
        int limit = decoder().info().maxPositions() - reserved;
        int fit = 0; // full-context length grows with every passage: the longest fitting prefix is found by bisection
        int hi = passages.size();
        while (fit < hi) {
            int mid = (fit + hi + 1) >>> 1;
            if (fullContextTokens(request.apply(passages.subList(0, mid))) <= limit) {
                fit = mid;
            } else {
                hi = mid - 1;
            }
        }
        if (fit == 0) {
            int first = passages.isEmpty() ? 0 : fullContextTokens(request.apply(passages.subList(0, 1)));
            throw new ContextTooLongException("not even one passage fits the decoder in full-context mode: the first "
                    + "takes " + first + " positions, " + reserved + " are kept for the answer, the decoder has "
                    + decoder().info().maxPositions(), first + reserved, decoder().info().maxPositions());
        }
        return passages.subList(0, fit);
    }

    /**
     * Runs one request and waits for it: {@link #generateAsync} then {@link RefragGeneration#join}.
     *
     * @param request the segments
     * @param options per-request options
     * @return text, decisions, lengths and timings
     */
    public RefragResult generate(RefragRequest request, RefragOptions options) {
        return generateAsync(request, options).join();
    }

    /**
     * Starts one request and returns at once. The pipeline's scheduler thread runs it, as it runs all native work:
     * plan the prompt (tokenize and chunk), select the chunks to expand, embed the compressed ones, assemble the
     * decoder input, prefill it between two decode steps, then generate in the batch with the other requests in
     * flight. Streaming listeners ({@link io.refrag.core.generate.GenerationOptions#listener()}) are called on that
     * thread.
     *
     * @param request the segments
     * @param options per-request options
     * @return the running request: its result, or cancel it (its batch slot and KV cache are freed within one step)
     * @throws io.refrag.core.exception.QueueFullException if the scheduler's queue is full
     * @throws RefragException if the pipeline is closed
     */
    public RefragGeneration generateAsync(RefragRequest request, RefragOptions options) {
        lifecycle.admit();
        BatchedGenerator.Stream stream;
        long start = System.nanoTime();
        AtomicReference<RequestPipeline.Prepared> prepared = new AtomicReference<>();
        try {
            stream = scheduler.submit(() -> {
                RequestPipeline.Prepared p = pipeline.prepareHere(pipeline.planHere(request, options.k()),
                        request.queryText(), options);
                prepared.set(p);
                return p.input();
            }, options.generation(), start);
        } catch (RuntimeException e) {
            lifecycle.release();
            ended(null, e);
            throw e;
        }
        stream.result().whenComplete((g, e) -> lifecycle.release());
        CompletableFuture<RefragResult> result = stream.result().thenApply(g -> {
            RequestPipeline.Prepared p = prepared.get();
            return new RefragResult(g, p.decisions(), p.input().length(), p.plan().fullContextLength(),
                    p.encodeMillis(), p.policyMillis(), p.cacheHits());
        });
        result.whenComplete(this::ended);
        return new RefragGeneration(result, stream);
    }

    /**
     * Registers a listener for every later request's end.
     *
     * @param listener called once per request (see {@link RefragListener})
     */
    public void addListener(RefragListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** @param listener a listener {@link #addListener} registered; it hears no later request */
    public void removeListener(RefragListener listener) {
        listeners.remove(listener);
    }

    /** @return the scheduler's load now: requests waiting for a batch slot and requests in the decode batch */
    public SchedulerStats schedulerStats() {
        return scheduler.stats();
    }

    private void ended(RefragResult result, Throwable error) {
        if (listeners.isEmpty()) {
            return;
        }
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        RefragListener.Outcome outcome = cause == null ? RefragListener.Outcome.SUCCESS
                : cause instanceof CancellationException ? RefragListener.Outcome.CANCELLED
                : cause instanceof RequestTimeoutException ? RefragListener.Outcome.TIMED_OUT
                : cause instanceof QueueFullException ? RefragListener.Outcome.REJECTED
                : cause instanceof InvalidRequestException ? RefragListener.Outcome.INVALID
                : RefragListener.Outcome.FAILED;
        for (RefragListener l : listeners) {
            try {
                l.onRequestEnd(outcome, result, cause);
            } catch (RuntimeException e) {
                LOG.warn("a RefragListener failed; the request is unaffected", e);
            }
        }
    }

    /**
     * The stages before generation, for callers that build plans themselves (the evaluator scores targets after a
     * prompt): an internal type, documented on {@link RequestPipeline}.
     *
     * @return the pipeline's request stages
     */
    public RequestPipeline pipeline() {
        return pipeline;
    }

    /**
     * Refuses new requests, waits up to {@value #CLOSE_WAIT_SECONDS} s for those in flight, then closes the decoder,
     * encoder, projector, policies and cache. Idempotent.
     *
     * @throws RefragException if requests are still running after the wait; the parts are then left open (closing them
     *     under a running request would crash the JVM in native code)
     */
    @Override
    public void close() {
        lifecycle.close(() -> {
            List<AutoCloseable> parts = new ArrayList<>();
            parts.add(scheduler);
            parts.addAll(pipeline.loadedPolicies());
            parts.addAll(Arrays.asList(cache, projector, encoder, decoder));
            return parts;
        });
    }
}
