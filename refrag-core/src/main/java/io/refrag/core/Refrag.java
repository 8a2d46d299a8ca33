package io.refrag.core;

import io.refrag.core.cache.ChunkEmbeddingCache;
import io.refrag.core.cache.DiskChunkCache;
import io.refrag.core.cache.LruChunkCache;
import io.refrag.core.cache.TieredChunkCache;
import io.refrag.core.model.Chunk;
import io.refrag.core.chunk.ChunkEmbedder;
import io.refrag.core.chunk.Chunker;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.RefragException;
import io.refrag.core.generate.BatchedGenerator;
import io.refrag.core.generate.GenerationResult;
import io.refrag.core.generate.Generator;
import io.refrag.core.hub.HfHub;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.DecoderInput;
import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.PolicyInput;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Projector;
import io.refrag.core.plan.PromptPlan;
import io.refrag.core.spi.Providers;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * The REFRAG pipeline: chunk the context, encode and project chunks (through the cache), let a policy pick chunks to
 * expand, assemble the mixed decoder input (text tokens, one embedding per compressed chunk, the tokens of each
 * expanded chunk, in document order) and generate. Thread-safe: one pipeline serves concurrent requests.
 *
 * <p>The pipeline owns its parts: {@link #close()} closes the decoder, encoder, projector, policies and cache.
 */
public final class Refrag implements AutoCloseable {
    /** How long {@link #close()} waits for requests in flight. */
    public static final int CLOSE_WAIT_SECONDS = 60;
    private final CausalDecoder decoder;
    private final ChunkEncoder encoder;
    private final Projector projector;
    private final ChunkEmbeddingCache cache;
    private final BatchedGenerator batcher; // null: each request decodes alone
    private final ChunkEmbedder embedder;
    private final Chunker chunker;
    private final RefragOptions defaults;
    private final String defaultPolicy;
    private final Path policyFile;
    private final ModelOptions modelOptions;
    private final Map<String, ExpansionPolicy> policies = new ConcurrentHashMap<>();
    /** Requests hold the read lock; {@link #close()} takes the write lock once they are done. */
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private volatile boolean closed;
    private boolean partsClosed;

    private Refrag(Builder b) {
        this.decoder = b.decoder;
        this.encoder = b.encoder;
        this.projector = b.projector;
        this.cache = b.cache;
        this.batcher = b.maxBatch > 1 ? new BatchedGenerator(b.decoder, b.maxBatch) : null;
        this.defaults = b.defaults;
        this.defaultPolicy = b.policyName;
        this.policyFile = b.policyFile;
        this.modelOptions = b.modelOptions;
        this.chunker = new Chunker(decoder.tokenizer());
        this.embedder = encoder == null ? null : new ChunkEmbedder(encoder, projector, cache);
        if (b.policy != null) {
            policies.put(b.policy.name(), b.policy);
        }
    }

    /** @return a builder; the decoder is required, the encoder for REFRAG (non-full-context) requests */
    public static Builder builder() {
        return new Builder();
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
        return load(HfHub.fromEnvironment().resolve(folderOrId), options);
    }

    /**
     * Opens a pipeline from a manifest; every part opened so far is closed if a later one fails.
     *
     * @param m the parts and defaults
     * @param options device and precision of every model
     * @return the pipeline
     */
    public static Refrag open(RefragManifest m, ModelOptions options) {
        Builder b = builder().optModelOptions(options);
        Refrag refrag;
        try {
            b.setDecoder(Providers.loadDecoder(m.decoder(), options));
            if (m.encoder() != null) {
                b.optEncoder(Providers.loadEncoder(m.encoder(), options, m.pooling()));
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
            refrag = b.build();
        } catch (RuntimeException e) {
            b.closeParts();
            throw e;
        }
        try {
            if (!m.policy().equals(PolicyNames.NONE)) {
                refrag.policy(m.policy()); // a bad policy name or file fails here, not at the first request
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
        return inFlight(() -> {
            ChunkEmbedder emb = requireEncoder();
            requireChunkSize(RefragOptions.builder().optK(k).build().k());
            cache.persist();
            List<String> texts = chunker.chunk(passages, k).stream().map(Chunk::text).toList();
            emb.precompute(texts, 256, progress == null ? null : done -> progress.accept(done, texts.size()));
            cache.persist();
            return texts.size();
        });
    }

    /**
     * Positions the request takes in full-context mode (BOS, text tokens, every passage token), computed by
     * tokenization alone.
     *
     * @param request the request
     * @return the full-context length
     */
    public int fullContextTokens(RefragRequest request) {
        return inFlight(() -> planUnguarded(request, defaults.k()).fullContextLength());
    }

    /**
     * Runs one request: plan the prompt, select the chunks to expand, embed the compressed ones, assemble the decoder
     * input and generate.
     *
     * @param request the segments
     * @param options per-request options
     * @return text, decisions, lengths and timings
     */
    public RefragResult generate(RefragRequest request, RefragOptions options) {
        return inFlight(() -> {
            long start = System.nanoTime();
            Prepared p = prepare(planUnguarded(request, options.k()), request.queryText(), options);
            GenerationResult g = batcher != null ? batcher.generate(p.input(), options.generation(), start)
                    : Generator.generate(decoder, p.input(), options.generation(), start);
            return new RefragResult(g, decisions(p.plan()), p.input().length(), p.plan().fullContextLength(),
                    p.encodeMillis(), p.policyMillis(), p.cacheHits());
        });
    }

    /**
     * A prompt as the decoder receives it under some options.
     *
     * @param plan the plan with the policy's expanded set
     * @param input the assembled decoder input
     * @param encodeMillis time to embed the chunks and assemble the input (tokenization and the policy excluded; about
     *     zero in full-context mode)
     * @param policyMillis time the policy took
     * @param cacheHits chunk embeddings served by the cache
     */
    public record Prepared(PromptPlan plan, DecoderInput input, double encodeMillis, double policyMillis,
            int cacheHits) {
    }

    /**
     * Runs the steps before generation on a plan built by the caller (evaluation scores targets after it): select
     * the chunks to expand, embed the compressed ones, assemble the decoder input.
     *
     * @param plan the prompt's layout, none expanded (see {@link PromptPlan#builder})
     * @param query text a query-aware policy compares chunks with (may be empty)
     * @param options per-request options (k is the plan's business)
     * @return the decoder input and what it cost
     */
    public Prepared prepare(PromptPlan plan, String query, RefragOptions options) {
        return inFlight(() -> {
            long start = System.nanoTime();
            Selection selection = select(plan, query, options);
            ChunkEmbedder.Embedded embedded = embed(selection, options);
            DecoderInput input = selection.plan().toDecoderInput(embedded.rows());
            decoder.info().requireFits(input.length(), describe(options), lengthHint(options));
            long encodeNanos = System.nanoTime() - start - selection.policyNanos();
            return new Prepared(selection.plan(), input, encodeNanos / 1e6, selection.policyNanos() / 1e6,
                    embedded.cacheHits());
        });
    }

    /**
     * Step 1 of a request: tokenize its text segments and chunk its context segments, in document order, after BOS.
     *
     * @param request the segments
     * @param k decoder tokens per chunk
     * @return the plan, every chunk compressed
     */
    public PromptPlan plan(RefragRequest request, int k) {
        return inFlight(() -> planUnguarded(request, k));
    }

    private PromptPlan planUnguarded(RefragRequest request, int k) {
        PromptPlan.Builder plan = PromptPlan.builder(decoder.info());
        for (RefragRequest.Segment s : request.segments()) {
            if (s instanceof RefragRequest.Text t) {
                plan.tokens(decoder.tokenizer().encode(t.text()).ids());
            } else if (s instanceof RefragRequest.Context c) {
                plan.chunks(chunker.chunk(c.passages(), k));
            }
        }
        return plan.build();
    }

    /**
     * The plan with its expanded set, the chunk embeddings computed on the way (by chunk index; null where not yet
     * computed) and what that cost.
     */
    private record Selection(PromptPlan plan, float[][] embeddings, int cacheHits, long policyNanos) {
    }

    /** A chunk of k decoder tokens must fit the encoder's input, or its embedding would silently drop the rest. */
    private void requireChunkSize(int k) {
        if (k > encoder.maxTokens()) {
            throw new InvalidRequestException("k = " + k + " decoder tokens per chunk exceeds the encoder's maximum "
                    + "input of " + encoder.maxTokens() + " tokens: its chunks would be truncated; use a smaller k");
        }
    }

    /** 2. Let the policy pick the chunks to expand; check the shortest possible input fits before native work. */
    private Selection select(PromptPlan plan, String query, RefragOptions options) {
        int n = plan.chunks().size();
        if (options.fullContext() || n == 0) {
            decoder.info().requireFits(plan.fullContextLength(), describe(options), lengthHint(options));
            return new Selection(plan.withAllExpanded(), new float[n][], 0, 0);
        }
        ChunkEmbedder emb = requireEncoder();
        requireChunkSize(options.k());
        int budget = options.budget(n);
        decoder.info().requireFits(plan.minLength(budget), describe(options), lengthHint(options));
        String name = options.policy() != null ? options.policy() : defaultPolicy;
        if (name.equals(PolicyNames.NONE)) {
            return new Selection(plan, new float[n][], 0, 0); // expands nothing, by its definition
        }
        ExpansionPolicy policy = policy(name);
        if (budget == 0 && policy.usesBudget()) {
            return new Selection(plan, new float[n][], 0, 0);
        }
        float[][] embeddings = new float[n][];
        int cacheHits = 0;
        if (policy.needsChunkEmbeddings()) {
            ChunkEmbedder.Embedded e = emb.embed(plan.chunks().stream().map(Chunk::text).toList(), options.useCache());
            embeddings = e.rows();
            cacheHits = e.cacheHits();
        }
        float[] queryEmbedding = null;
        if (policy.needsQueryEmbedding()) {
            queryEmbedding = emb.embed(List.of(query.isBlank() ? " " : query), options.useCache()).rows()[0];
        }
        long p0 = System.nanoTime();
        int[] picked = policy.select(new PolicyInput(plan.chunks(), policy.needsChunkEmbeddings() ? embeddings : null,
                query, queryEmbedding, decoder, options.generation().seed()), budget);
        long policyNanos = System.nanoTime() - p0;
        try {
            return new Selection(plan.withExpanded(picked), embeddings, cacheHits, policyNanos);
        } catch (RefragException e) {
            throw new RefragException("policy '" + policy.name() + "' returned " + e.getMessage(), e);
        }
    }

    /**
     * 3. Embed the compressed chunks the policy did not already embed.
     *
     * @return embeddings by chunk index (null for expanded chunks) and the cache hits of the whole request
     */
    private ChunkEmbedder.Embedded embed(Selection selection, RefragOptions options) {
        float[][] rows = selection.embeddings();
        List<Integer> todo = Arrays.stream(selection.plan().compressedChunks()).filter(i -> rows[i] == null).boxed()
                .toList();
        if (todo.isEmpty()) {
            return new ChunkEmbedder.Embedded(rows, selection.cacheHits());
        }
        List<Chunk> chunks = selection.plan().chunks();
        ChunkEmbedder.Embedded e = requireEncoder().embed(todo.stream().map(i -> chunks.get(i).text()).toList(),
                options.useCache());
        for (int j = 0; j < todo.size(); j++) {
            rows[todo.get(j)] = e.rows()[j];
        }
        return new ChunkEmbedder.Embedded(rows, selection.cacheHits() + e.cacheHits());
    }

    private static List<RefragResult.ChunkDecision> decisions(PromptPlan plan) {
        List<RefragResult.ChunkDecision> out = new ArrayList<>();
        for (int i = 0; i < plan.chunks().size(); i++) {
            Chunk c = plan.chunks().get(i);
            out.add(new RefragResult.ChunkDecision(c.passage(), c.index(), c.length(), plan.isExpanded(i)));
        }
        return List.copyOf(out);
    }

    private static String describe(RefragOptions o) {
        return o.fullContext() ? "full-context input" : "REFRAG decoder input";
    }

    private static String lengthHint(RefragOptions o) {
        return o.fullContext()
                ? "use REFRAG mode (compression) or fewer passages"
                : "use a larger k (now " + o.k() + "), a smaller expansion fraction or budget, or fewer passages";
    }

    private ChunkEmbedder requireEncoder() {
        if (embedder == null) {
            throw new InvalidRequestException("REFRAG mode needs a chunk encoder; build the pipeline with an encoder "
                    + "or request full-context mode");
        }
        return embedder;
    }

    private ExpansionPolicy policy(String name) {
        return policies.computeIfAbsent(name,
                n -> Providers.loadPolicy(n, n.equals(defaultPolicy) ? policyFile : null, modelOptions));
    }

    /**
     * Closes every part, even when some fail.
     *
     * @param parts the parts (null entries are skipped)
     * @return the first failure, the others added to it as suppressed, or null
     */
    private static RuntimeException closeAll(List<? extends AutoCloseable> parts) {
        RuntimeException failure = null;
        for (AutoCloseable c : parts) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                RuntimeException r = e instanceof RuntimeException re ? re
                        : new RefragException("closing " + c + " failed: " + e.getMessage(), e);
                if (failure == null) {
                    failure = r;
                } else {
                    failure.addSuppressed(r);
                }
            }
        }
        return failure;
    }

    /**
     * Runs a request unless the pipeline is closed; {@link #close()} waits for it.
     *
     * @throws RefragException "pipeline is closed" once {@link #close()} has begun
     */
    private <T> T inFlight(Supplier<T> request) {
        if (!lifecycle.readLock().tryLock()) {
            throw new RefragException("pipeline is closed: no new requests after close()");
        }
        try {
            if (closed) {
                throw new RefragException("pipeline is closed: no new requests after close()");
            }
            return request.get();
        } finally {
            lifecycle.readLock().unlock();
        }
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
        closed = true;
        boolean drained;
        try {
            drained = lifecycle.writeLock().tryLock(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RefragException("interrupted while close() waited for requests in flight", e);
        }
        if (!drained) {
            throw new RefragException("close(): requests still in flight after " + CLOSE_WAIT_SECONDS + " s; the "
                    + "pipeline's parts are left open");
        }
        try {
            if (!partsClosed) {
                partsClosed = true;
                List<AutoCloseable> parts = new ArrayList<>();
                parts.add(batcher);
                parts.addAll(policies.values());
                parts.addAll(Arrays.asList(cache, projector, encoder, decoder));
                RuntimeException failure = closeAll(parts);
                if (failure != null) {
                    throw failure;
                }
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    /** Builds a {@link Refrag}; {@code setX} for required parts, {@code optX} for optional ones. */
    public static final class Builder {
        private CausalDecoder decoder;
        private ChunkEncoder encoder;
        private Projector projector;
        private ExpansionPolicy policy;
        private String policyName = PolicyNames.NONE;
        private Path policyFile;
        private ChunkEmbeddingCache cache;
        private int maxBatch = 1;
        private RefragOptions defaults = RefragOptions.builder().build();
        private ModelOptions modelOptions = ModelOptions.defaults();
        private long projectorSeed;

        private Builder() {
        }

        /**
         * @param d the decoder (required)
         * @return this builder
         */
        public Builder setDecoder(CausalDecoder d) {
            this.decoder = d;
            return this;
        }

        /**
         * @param e the chunk encoder (needed for REFRAG requests)
         * @return this builder
         */
        public Builder optEncoder(ChunkEncoder e) {
            this.encoder = e;
            return this;
        }

        /**
         * @param p the projector; without one an untrained projector is created
         * @return this builder
         */
        public Builder optProjector(Projector p) {
            this.projector = p;
            return this;
        }

        /**
         * @param seed seed of the untrained projector created when none is given
         * @return this builder
         */
        public Builder optProjectorSeed(long seed) {
            this.projectorSeed = seed;
            return this;
        }

        /**
         * @param p the default expansion policy instance
         * @return this builder
         */
        public Builder optPolicy(ExpansionPolicy p) {
            this.policy = p;
            this.policyName = p.name();
            return this;
        }

        /**
         * @param name the default policy's registered name
         * @param file its weights (learned policies) or null
         * @return this builder
         */
        public Builder optPolicy(String name, Path file) {
            this.policyName = name;
            this.policyFile = file;
            return this;
        }

        /**
         * @param c chunk-embedding cache (default: in-memory LRU of 100,000 entries)
         * @return this builder
         */
        public Builder optCache(ChunkEmbeddingCache c) {
            this.cache = c;
            return this;
        }

        /**
         * @param o default per-request options
         * @return this builder
         */
        public Builder optDefaults(RefragOptions o) {
            this.defaults = o;
            return this;
        }

        /**
         * Serves concurrent requests with continuous batching: their decode steps run as one batched forward pass
         * ({@link BatchedGenerator}), so the decoder's weights are read once per step for all of them. Greedy
         * outputs stay those of a request alone.
         *
         * @param requests most requests per decode step; 1 (the default) decodes each request alone
         * @return this builder
         */
        public Builder optMaxBatch(int requests) {
            if (requests < 1) {
                throw new InvalidRequestException("maxBatch must be >= 1, got " + requests);
            }
            this.maxBatch = requests;
            return this;
        }

        /**
         * @param o device and precision for parts the pipeline creates (projector, policies)
         * @return this builder
         */
        public Builder optModelOptions(ModelOptions o) {
            this.modelOptions = o;
            return this;
        }

        /**
         * @return the pipeline
         * @throws InvalidRequestException if parts are missing or their sizes do not fit together
         */
        public Refrag build() {
            if (decoder == null) {
                throw new InvalidRequestException("a decoder is required: call setDecoder");
            }
            int hidden = decoder.info().hiddenSize();
            if (encoder != null && projector == null) {
                projector = Providers.projectors().createUntrained(encoder.hiddenSize(), hidden, projectorSeed,
                        modelOptions);
            }
            if (projector != null && projector.outputSize() != hidden) {
                throw new InvalidRequestException("projector output size " + projector.outputSize()
                        + " does not match the decoder hidden size " + hidden);
            }
            if (encoder != null && projector.inputSize() != encoder.hiddenSize()) {
                throw new InvalidRequestException("projector input size " + projector.inputSize()
                        + " does not match the encoder hidden size " + encoder.hiddenSize());
            }
            if (cache == null) {
                cache = new LruChunkCache(100_000);
            }
            return new Refrag(this);
        }

        /** Closes what was opened when building fails; the build's own exception is the one that matters. */
        private void closeParts() {
            closeAll(Arrays.asList(projector, encoder, decoder, cache));
        }
    }
}
