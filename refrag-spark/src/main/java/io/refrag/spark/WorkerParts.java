package io.refrag.spark;

import io.refrag.core.CorpusEncoder;
import io.refrag.core.ModelSelection;
import io.refrag.core.RefragManifest;
import io.refrag.core.hub.HfHub;
import io.refrag.core.model.ModelOptions;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The model parts of a JVM (an executor, or the driver in local mode): loaded once, on first use, and shared by every
 * task that runs there; closed when the JVM exits. Loading offline: the hub is only read ({@code HF_HUB_OFFLINE} as
 * set), and libtorch comes from the job's jars ({@code ai.djl.offline}).
 */
final class WorkerParts {
    private record Key(String model, Integer k, int threads) {
    }

    private static final Map<Key, CorpusEncoder> PARTS = new ConcurrentHashMap<>();

    private WorkerParts() {
    }

    /**
     * @param options the job
     * @param threads intra-op threads
     * @return this JVM's parts for the job's model and k
     */
    static CorpusEncoder get(JobOptions options, int threads) {
        System.setProperty("ai.djl.offline", "true");
        return PARTS.computeIfAbsent(new Key(options.model(), options.k(), threads), key -> {
            RefragManifest m = ModelSelection.folder(key.model()).resolve(HfHub.fromEnvironment(), true,
                    ModelSelection.FIELD_NAMES);
            CorpusEncoder parts = CorpusEncoder.open(m, key.k(), ModelOptions.defaults().withThreads(key.threads()));
            Runtime.getRuntime().addShutdownHook(new Thread(parts::close, "refrag-spark-close"));
            return parts;
        });
    }
}
