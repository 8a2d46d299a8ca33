package io.refrag.core.hub;

import java.nio.file.Path;
import java.time.Duration;

/** A second process for the concurrent-download test: resolves one id into a cache and prints the snapshot. */
public final class HubDownloadProcess {
    private HubDownloadProcess() {
    }

    /**
     * @param args cache folder, endpoint, model id
     */
    public static void main(String[] args) {
        HfHub hub = HfHub.of(Path.of(args[0]), args[1], false, null, null,
                new HfHub.Limits(Duration.ofSeconds(20), 1, Duration.ofMillis(10), Duration.ofMillis(10), 1 << 20));
        System.out.println(hub.resolve(args[2]));
    }
}
