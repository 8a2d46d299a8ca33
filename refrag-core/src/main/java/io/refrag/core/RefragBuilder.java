package io.refrag.core;

import io.refrag.core.cache.ChunkEmbeddingCache;
import io.refrag.core.cache.ChunkStore;
import io.refrag.core.cache.ChunkStoreFingerprint;
import io.refrag.core.cache.LruChunkCache;
import io.refrag.core.cache.TieredChunkCache;
import io.refrag.core.exception.Closeables;
import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.generate.BatchedGenerator;
import io.refrag.core.model.CausalDecoder;
import io.refrag.core.model.ChunkEncoder;
import io.refrag.core.model.ExpansionPolicy;
import io.refrag.core.model.ModelOptions;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Projector;
import io.refrag.core.spi.Providers;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/** Builds a {@link Refrag}; {@code setX} for required parts, {@code optX} for optional ones. */
public final class RefragBuilder {
    /** Requests per decode step by default: a CPU step over 8 rows costs about 1.3 rows with packed weights. */
    public static final int DEFAULT_MAX_BATCH = 8;
    /** Seed of the untrained projector a pipeline without a trained one gets (what a corpus encoder matches). */
    public static final long DEFAULT_PROJECTOR_SEED = 0;

    CausalDecoder decoder;
    ChunkEncoder encoder;
    Projector projector;
    ExpansionPolicy policy;
    String policyName = PolicyNames.NONE;
    Path policyFile;
    ChunkEmbeddingCache cache;
    Path chunkStore;
    ChunkStore openedStore;
    int maxBatch = DEFAULT_MAX_BATCH;
    int maxQueue = BatchedGenerator.DEFAULT_MAX_QUEUE;
    Duration requestTimeout = Duration.ZERO;
    RefragOptions defaults = RefragOptions.builder().build();
    ModelOptions modelOptions = ModelOptions.defaults();
    long projectorSeed = DEFAULT_PROJECTOR_SEED;

    RefragBuilder() {
    }

    /**
     * @param d the decoder (required)
     * @return this builder
     */
    public RefragBuilder setDecoder(CausalDecoder d) {
        this.decoder = d;
        return this;
    }

    /**
     * @param e the chunk encoder (needed for REFRAG requests)
     * @return this builder
     */
    public RefragBuilder optEncoder(ChunkEncoder e) {
        this.encoder = e;
        return this;
    }

    /**
     * @param p the projector; without one an untrained projector is created
     * @return this builder
     */
    public RefragBuilder optProjector(Projector p) {
        this.projector = p;
        return this;
    }

    /**
     * @param seed seed of the untrained projector created when none is given
     * @return this builder
     */
    public RefragBuilder optProjectorSeed(long seed) {
        this.projectorSeed = seed;
        return this;
    }

    /**
     * @param p the default expansion policy instance
     * @return this builder
     */
    public RefragBuilder optPolicy(ExpansionPolicy p) {
        this.policy = p;
        this.policyName = p.name();
        return this;
    }

    /**
     * @param name the default policy's registered name
     * @param file its weights (learned policies) or null
     * @return this builder
     */
    public RefragBuilder optPolicy(String name, Path file) {
        this.policyName = name;
        this.policyFile = file;
        return this;
    }

    /**
     * @param c chunk-embedding cache (default: in-memory LRU of 100,000 entries)
     * @return this builder
     */
    public RefragBuilder optCache(ChunkEmbeddingCache c) {
        this.cache = c;
        return this;
    }

    /**
     * @param o default per-request options
     * @return this builder
     */
    public RefragBuilder optDefaults(RefragOptions o) {
        this.defaults = o;
        return this;
    }

    /**
     * How many concurrent requests share a decode step. Every request runs on the pipeline's scheduler thread
     * ({@link BatchedGenerator}: continuous batching), so the decoder's weights are read once per step for all of them.
     * Greedy outputs stay those of a request alone.
     *
     * @param requests most requests per decode step (default {@value #DEFAULT_MAX_BATCH}); 1 decodes one at a time
     * @return this builder
     */
    public RefragBuilder optMaxBatch(int requests) {
        if (requests < 1) {
            throw new InvalidRequestException("maxBatch must be >= 1, got " + requests);
        }
        this.maxBatch = requests;
        return this;
    }

    /**
     * Bounds the requests waiting for a batch slot ({@link #optMaxBatch}); past it a request is
     * refused at once with a {@link io.refrag.core.exception.QueueFullException}.
     *
     * @param requests most waiting requests (default {@value BatchedGenerator#DEFAULT_MAX_QUEUE})
     * @return this builder
     */
    public RefragBuilder optMaxQueue(int requests) {
        if (requests < 1) {
            throw new InvalidRequestException("maxQueue must be >= 1, got " + requests);
        }
        this.maxQueue = requests;
        return this;
    }

    /**
     * Ends a request that takes longer than this from its start, waiting included, with a
     * {@link io.refrag.core.exception.RequestTimeoutException}; its KV cache is freed within one step.
     *
     * @param timeout the longest a request may take; zero (the default) for no limit
     * @return this builder
     */
    public RefragBuilder optRequestTimeout(Duration timeout) {
        if (timeout == null || timeout.isNegative()) {
            throw new InvalidRequestException("requestTimeout must be >= 0 (zero: none), got " + timeout);
        }
        this.requestTimeout = timeout;
        return this;
    }

    /**
     * Reads a chunk store (written once for a corpus by refrag-spark's job, shared by every replica) as a read-only
     * tier below the cache: lookups try the cache, then the store, then encode. The store must have been built for
     * this pipeline's decoder tokenizer, encoder, projector and default k (its fingerprint); {@link #build()} refuses
     * it otherwise.
     *
     * @param store the store's folder, or null for none
     * @return this builder
     */
    public RefragBuilder optChunkStore(Path store) {
        this.chunkStore = store;
        return this;
    }

    /**
     * @param o device and precision for parts the pipeline creates (projector, policies)
     * @return this builder
     */
    public RefragBuilder optModelOptions(ModelOptions o) {
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
        if (chunkStore != null) {
            if (encoder == null) {
                throw new InvalidRequestException("a chunk store holds chunk embeddings: it needs an encoder");
            }
            openedStore = ChunkStore.open(chunkStore, ChunkStoreFingerprint.of(decoder.tokenizer(), encoder, projector,
                    defaults.k()));
            cache = new TieredChunkCache(cache, openedStore);
        }
        return new Refrag(this);
    }

    /** Closes what was opened when building fails; the build's own exception is the one that matters. */
    void closeParts() {
        Closeables.closeAll(Arrays.asList(projector, encoder, decoder, cache));
    }
}
