package io.refrag.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import io.refrag.core.hub.HfHub;
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

    @Test
    void relativePathsMayNotLeaveTheFolderButAbsolutePathsAndLinksInsideItWork() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere/decoder"));
        for (String escape : new String[] {"../elsewhere/decoder", "sub/../../elsewhere", "..", "."}) {
            for (String key : new String[] {"decoder", "encoder", "projector", "policyFile", "cacheDir"}) {
                String entry = "\"" + key + "\": \"" + escape + "\"";
                Files.writeString(dir.resolve(RefragManifest.FILE_NAME),
                        "{" + (key.equals("decoder") ? entry : "\"decoder\": \"d\", " + entry) + "}");
                InvalidRequestException e = assertThrows(InvalidRequestException.class,
                        () -> RefragManifest.read(dir), key + " = " + escape);
                assertTrue(e.getMessage().contains("'" + key + "' is \"" + escape + "\", which leads out of the "
                        + "folder"), e.getMessage());
            }
        }
        Files.writeString(dir.resolve(RefragManifest.FILE_NAME), "{\"decoder\": \"" + elsewhere.toAbsolutePath()
                + "\", \"encoder\": \"sub/../enc\"}");
        RefragManifest m = RefragManifest.read(dir);
        assertEquals(elsewhere.toAbsolutePath(), m.decoder());
        assertEquals(dir.toAbsolutePath().resolve("enc"), m.encoder());
        Files.createSymbolicLink(dir.resolve("linked"), Path.of("../elsewhere/decoder"));
        Files.writeString(dir.resolve(RefragManifest.FILE_NAME), "{\"decoder\": \"linked\"}");
        assertEquals(elsewhere.toRealPath(), RefragManifest.read(dir).decoder().toRealPath());
    }

    @Test
    void decoderAndEncoderMayBeHuggingFaceIdsResolvedThroughTheHubCache() throws Exception {
        // a cache as the hub client writes it: refs/main names the commit, the snapshot links into blobs/
        String commit = "89abcdef0123456789abcdef0123456789abcdef";
        Path repo = tmp.resolve("hub/models--acme--enc");
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots/" + commit));
        for (String f : new String[] {"config.json", "tokenizer.json", "model.safetensors"}) {
            Files.writeString(blobs.resolve("etag-" + f), "{}");
            Files.createSymbolicLink(snapshot.resolve(f), Path.of("../../blobs/etag-" + f));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), commit);
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Files.createDirectories(dir.resolve("dec"));
        Files.writeString(dir.resolve(RefragManifest.FILE_NAME), "{\"decoder\": \"dec\", \"encoder\": \"acme/enc\"}");
        HfHub offline = HfHub.of(tmp.resolve("hub"), "http://127.0.0.1:1", true, null, null);
        RefragManifest m = RefragManifest.read(dir, offline);
        assertEquals(snapshot, m.encoder());
        assertEquals(dir.toAbsolutePath().resolve("dec"), m.decoder(), "an existing folder wins over an id");
        Files.writeString(dir.resolve(RefragManifest.FILE_NAME), "{\"decoder\": \"dec\", \"encoder\": \"acme/gone\"}");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> RefragManifest.read(dir, offline));
        assertTrue(e.getMessage().contains("acme/gone@main is not in the Hugging Face cache"), e.getMessage());
    }
}
