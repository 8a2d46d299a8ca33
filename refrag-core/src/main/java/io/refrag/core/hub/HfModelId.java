package io.refrag.core.hub;

import io.refrag.core.exception.InvalidRequestException;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face model id with an optional revision: {@code owner/name[@revision]} (a branch, a tag or a commit hash;
 * default {@code main}).
 *
 * @param owner the user or organisation
 * @param name the repository name
 * @param revision the branch, tag or commit hash
 */
public record HfModelId(String owner, String name, String revision) {
    private static final Pattern ID = Pattern.compile(
            "([A-Za-z0-9][A-Za-z0-9._-]{0,95})/([A-Za-z0-9][A-Za-z0-9._-]{0,95})(?:@([A-Za-z0-9][A-Za-z0-9._/-]{0,127}))?");
    /** A full commit hash (and a git blob id): 40 lower-case hex digits. */
    static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    /** Checks the parts. */
    public HfModelId {
        if (owner.contains("..") || name.contains("..") || revision.contains("..")) {
            throw new InvalidRequestException("a Hugging Face id may not contain '..': " + owner + "/" + name + "@"
                    + revision);
        }
    }

    /**
     * @param text {@code owner/name} or {@code owner/name@revision}
     * @return the id, if the text has that form
     */
    public static Optional<HfModelId> tryParse(String text) {
        Matcher m = ID.matcher(text);
        if (!m.matches() || text.contains("..")) {
            return Optional.empty();
        }
        return Optional.of(new HfModelId(m.group(1), m.group(2), m.group(3) == null ? "main" : m.group(3)));
    }

    /**
     * The id whose cache snapshot a folder is, read back from the hub cache's layout
     * ({@code .../models--owner--name/snapshots/<commit>}): what a manifest writes instead of a machine's cache path.
     *
     * @param folder a folder
     * @return {@code owner/name} at {@code main}, if the folder is a snapshot in a hub cache
     */
    public static Optional<HfModelId> ofSnapshot(java.nio.file.Path folder) {
        java.nio.file.Path p = folder.toAbsolutePath().normalize();
        if (p.getNameCount() < 3 || !COMMIT.matcher(p.getFileName().toString()).matches()
                || !p.getParent().getFileName().toString().equals("snapshots")) {
            return Optional.empty();
        }
        String repo = p.getParent().getParent().getFileName().toString();
        if (!repo.startsWith("models--")) {
            return Optional.empty();
        }
        String rest = repo.substring("models--".length());
        int cut = rest.indexOf("--");
        return cut <= 0 ? Optional.empty() : tryParse(rest.substring(0, cut) + "/" + rest.substring(cut + 2));
    }

    /** @return {@code owner/name} */
    public String repo() {
        return owner + "/" + name;
    }

    /** @return whether the revision is a full commit hash */
    public boolean isCommit() {
        return COMMIT.matcher(revision).matches();
    }

    /** @return the cache folder name the hub client uses: {@code models--owner--name} */
    public String cacheFolderName() {
        return "models--" + owner + "--" + name;
    }

    @Override
    public String toString() {
        return repo() + "@" + revision;
    }
}
