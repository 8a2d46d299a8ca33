package io.refrag.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.model.PolicyNames;
import io.refrag.core.model.Pooling;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

/** refrag.json: one reader and writer, defaults as constants, paths relative to the folder, no unknown keys. */
class RefragManifestTest {
    @TempDir
    Path tmp;

    @Test
    void writeThenReadGivesTheSameManifestWithPathsRelativeInsideTheFolder() throws Exception {
        Path dir = tmp.resolve("model");
        Files.createDirectories(dir);
        Path outside = tmp.resolve("shared/decoder");
        RefragManifest m = RefragManifest.of(outside).withEncoder(dir.resolve("encoder"), Pooling.MEAN)
                .withProjector(dir.resolve("projector.safetensors"))
                .withPolicy(PolicyNames.LEARNED, dir.resolve("policy.safetensors")).withDefaults(8, 0.25);
        m.write(dir);
        String json = Files.readString(dir.resolve(RefragManifest.FILE_NAME));
        assertTrue(json.contains("\"projector\": \"projector.safetensors\"") && json.contains(outside.toString()),
                json);
        assertEquals(m, RefragManifest.read(dir));
    }

    @Test
    void absentKeysTakeTheDefaultsAndUnknownKeysAreRejected() throws Exception {
        Files.writeString(tmp.resolve(RefragManifest.FILE_NAME), "{\"decoder\": \"d\"}");
        RefragManifest m = RefragManifest.read(tmp);
        assertEquals(tmp.toAbsolutePath().resolve("d"), m.decoder());
        assertNull(m.encoder());
        assertEquals(RefragManifest.DEFAULT_K, m.k());
        assertEquals(RefragManifest.DEFAULT_P, m.p());
        assertEquals(PolicyNames.NONE, m.policy());
        Files.writeString(tmp.resolve(RefragManifest.FILE_NAME), "{\"decoder\": \"d\", \"polcy\": \"random\"}");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> RefragManifest.read(tmp));
        assertTrue(e.getMessage().contains("unknown key 'polcy'; did you mean 'policy'?"), e.getMessage());
        Files.writeString(tmp.resolve(RefragManifest.FILE_NAME), "{\"decoder\": \"d\", \"k\": 4294967312}");
        e = assertThrows(ModelLoadException.class, () -> RefragManifest.read(tmp));
        assertTrue(e.getMessage().contains("'k' must be an integer in"), e.getMessage());
        ModelLoadException missing = assertThrows(ModelLoadException.class,
                () -> RefragManifest.read(tmp.resolve("nowhere")));
        assertTrue(missing.getMessage().contains("holds no refrag.json"), missing.getMessage());
    }
}
