package io.refrag.core.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.hub.HfHub;
import io.refrag.core.hub.HfModelId;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates {@code ../shared} (system property {@code refrag.shared.dir}); a missing folder fails the test. */
public final class SharedModels {
    /** The id the shipped model names its decoder by. */
    public static final String STORIES_ID = "refrag-java/stories260K";
    /** The id the shipped model names its encoder by. */
    public static final String MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2";
    private static boolean cacheFilled;

    private SharedModels() {
    }

    /**
     * @param relative path below shared/, e.g. {@code models/stories260K}
     * @return the existing path
     */
    public static Path path(String relative) {
        Path root = Path.of(System.getProperty("refrag.shared.dir", "../shared"));
        Path p = root.resolve(relative).toAbsolutePath().normalize();
        assertTrue(Files.exists(p), "shared test asset missing: " + p + " (set -Drefrag.shared.dir)");
        return p;
    }

    /** @return the stories260K decoder folder */
    public static Path stories() {
        return path("models/stories260K");
    }

    /** @return the all-MiniLM-L6-v2 encoder folder */
    public static Path miniLm() {
        return path("models/all-MiniLM-L6-v2");
    }

    /**
     * @param relative path below the repository root, e.g. {@code models/refrag-stories260k-k8}
     * @return the existing path (system property {@code refrag.repo.dir}, set by the build)
     */
    public static Path repo(String relative) {
        Path p = Path.of(System.getProperty("refrag.repo.dir", "..")).resolve(relative).toAbsolutePath().normalize();
        assertTrue(Files.exists(p), "repository file missing: " + p + " (set -Drefrag.repo.dir)");
        return p;
    }

    /**
     * The REFRAG model this project trains and ships (recipes/stories260k-k8). It names its base models by Hugging
     * Face id; the first call puts the shared copies into the hub cache the build gives the tests
     * ({@code HF_HUB_CACHE}), as {@code scripts/hf-cache-from-shared.sh} does for users.
     *
     * @return its folder
     */
    public static synchronized Path shippedModel() {
        if (!cacheFilled) {
            HfHub hub = HfHub.fromEnvironment();
            hub.importFolder(HfModelId.tryParse(STORIES_ID).orElseThrow(), stories());
            hub.importFolder(HfModelId.tryParse(MINILM_ID).orElseThrow(), miniLm());
            cacheFilled = true;
        }
        return repo("models/refrag-stories260k-k8");
    }
}
