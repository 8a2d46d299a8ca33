package io.refrag.core.cache;

import io.refrag.core.checkpoint.Checksums;
import io.refrag.core.checkpoint.SafetensorsCheckpoint;

import java.util.Arrays;

/** What the disk cache and the chunk store ask of a segment file before they serve entries from it. */
final class Segments {
    private Segments() {
    }

    /**
     * @param data an opened segment
     * @param width the length every entry must have
     * @return why the segment cannot serve (an entry without a checksum, or of another width), or null when it can
     */
    static String unusable(SafetensorsCheckpoint data, int width) {
        if (!data.names().stream().allMatch(k -> data.metadata().containsKey(Checksums.PREFIX + k))) {
            return "written without checksums";
        }
        return data.names().stream().filter(k -> !Arrays.equals(data.info(k).shape(), new long[] {width}))
                .findFirst().map(k -> "entry " + k + " has shape " + data.info(k).shapeText() + ", not [" + width
                        + "] (another model's cache?)").orElse(null);
    }
}
