package io.refrag.bench;

import io.refrag.core.testing.SharedModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a user of the published artifacts gets: a new Maven project made of the README's dependency block and its Java
 * examples, built offline against this build's jars and poms (in a local repository of its own, beside the machine's
 * for everything else), not against the parent POM. It must compile, run the langchain4j example, resolve one Jackson,
 * snakeyaml 2 and one DJL, and every refrag jar must name its module.
 */
class DistributionIT {
    private static final List<String> MODULES = List.of("refrag-core", "refrag-encoder", "refrag-decoder",
            "refrag-policy", "refrag-train", "refrag-langchain4j", "refrag-server");
    private static final String VERSION = System.getProperty("refrag.version");
    private static final Path M2 = Path.of(System.getProperty("refrag.m2.repo"));

    @TempDir
    Path tmp;

    @Test
    void theReadmesDependencyBlockBuildsAndRunsTheReadmesExamples() throws Exception {
        String readme = Files.readString(SharedModels.repo("README.md"));
        Path repo = localRepository();
        Path app = tmp.resolve("app");
        Path sources = Files.createDirectories(app.resolve("src/main/java"));
        Files.writeString(app.resolve("pom.xml"), pom(block(readme, "<!-- maven: dependencies -->", "xml")));
        for (String example : List.of("QuickStart.java", "RagWithLangchain4j.java")) {
            Files.writeString(sources.resolve(example), block(readme, "<!-- compiled: " + example + " -->", "java"));
        }
        Result build = run(app, 600, "mvn", "-B", "-o", "-q", "-Dmaven.repo.local=" + repo, "compile",
                "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath", "-Dmdep.outputFile=cp.txt",
                "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:list", "-DoutputFile=deps.txt",
                "-DexcludeTransitive=false");
        assertEquals(0, build.code(), build.output());

        String deps = Files.readString(app.resolve("deps.txt"));
        Set<String> jackson = versions(deps, "com\\.fasterxml\\.jackson\\.[a-z.]+:(?!jackson-annotations)[a-z0-9-]+:jar:"
                + "([0-9.]+)");
        assertEquals(1, jackson.size(), "one Jackson: " + jackson + "\n" + deps);
        Set<String> annotations = versions(deps, "jackson-annotations:jar:([0-9.]+)"); // since 2.20: major.minor only
        assertTrue(annotations.size() == 1 && jackson.iterator().next().startsWith(annotations.iterator().next()),
                "Jackson annotations " + annotations + " with Jackson " + jackson);
        Set<String> snakeyaml = versions(deps, "org\\.yaml:snakeyaml:jar:([0-9.]+)");
        assertTrue(snakeyaml.stream().allMatch(v -> !v.startsWith("1.")), "snakeyaml 2: " + snakeyaml);
        Set<String> djl = versions(deps, "ai\\.djl[a-z.]*:(?:api|tokenizers|pytorch-engine):jar:([0-9.]+)");
        assertEquals(Set.of("0.35.1"), djl, "one DJL\n" + deps);
        assertTrue(!deps.contains("onnxruntime"), "no second inference runtime\n" + deps);
        assertTrue(!deps.contains("io.javalin") && !deps.contains("refrag-train"), "no server, no training\n" + deps);

        String classpath = app.resolve("target/classes") + java.io.File.pathSeparator
                + Files.readString(app.resolve("cp.txt")).strip();
        Result answer = run(SharedModels.repo(""), 300, Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Dai.djl.offline=true", "-cp", classpath, "RagWithLangchain4j",
                SharedModels.shippedModel().toString(), SharedModels.path("data/corpus_small.txt").toString());
        assertEquals(0, answer.code(), answer.output());
        System.out.println("DistributionIT: the README's langchain4j example answered: "
                + answer.output().lines().reduce((a, b) -> b).orElse(""));
    }

    @Test
    void theGradleBlockNamesWhatTheMavenBlockDoes() throws Exception {
        String readme = Files.readString(SharedModels.repo("README.md"));
        String maven = block(readme, "<!-- maven: dependencies -->", "xml");
        String gradle = block(readme, "<!-- gradle: dependencies -->", "kotlin");
        Set<String> fromMaven = new TreeSet<>();
        Matcher d = Pattern.compile("<dependency>(.*?)</dependency>", Pattern.DOTALL).matcher(maven);
        while (d.find()) {
            String dep = d.group(1);
            String scope = tag(dep, "scope");
            if ("import".equals(scope)) {
                fromMaven.add("platform " + tag(dep, "groupId") + ":" + tag(dep, "artifactId") + ":"
                        + tag(dep, "version"));
                continue;
            }
            String classifier = tag(dep, "classifier");
            fromMaven.add(("runtime".equals(scope) ? "runtimeOnly " : "implementation ") + tag(dep, "groupId") + ":"
                    + tag(dep, "artifactId") + (classifier == null ? "" : "::" + classifier));
        }
        Set<String> fromGradle = new TreeSet<>();
        Matcher g = Pattern.compile("(implementation|runtimeOnly)\\((platform\\()?\"([^\"]+)\"").matcher(gradle);
        while (g.find()) {
            fromGradle.add((g.group(2) != null ? "platform" : g.group(1)) + " " + g.group(3));
        }
        assertEquals(fromMaven, fromGradle);
    }

    @Test
    void everyJarNamesItsModuleAndTheBomMatchesTheBuild() throws Exception {
        for (String module : MODULES) {
            try (JarFile jar = new JarFile(SharedModels.repo(module + "/target/" + module + "-" + VERSION + ".jar")
                    .toFile())) {
                assertEquals("io.refrag." + module.substring("refrag-".length()), jar.getManifest()
                        .getMainAttributes().getValue("Automatic-Module-Name"), module);
            }
        }
        String parent = Files.readString(SharedModels.repo("pom.xml"));
        String bom = Files.readString(SharedModels.repo("refrag-bom/pom.xml"));
        assertEquals(VERSION, tag(bom.substring(bom.indexOf("<artifactId>refrag-bom</artifactId>")), "version"));
        for (String property : List.of("djl.version", "pytorch.version", "langchain4j.version", "jackson.version")) {
            assertEquals(tag(parent, property), tag(bom, property), property + " differs between the build and the BOM");
        }
        for (String module : MODULES) {
            assertTrue(bom.contains("<artifactId>" + module + "</artifactId>"), module + " is in the BOM");
        }
    }

    /** A local repository holding this build's poms and jars, and links to the machine's repository for the rest. */
    private Path localRepository() throws IOException {
        Path repo = Files.createDirectories(tmp.resolve("m2"));
        try (Stream<Path> top = Files.list(M2)) {
            for (Path p : top.toList()) {
                if (!p.getFileName().toString().equals("io")) {
                    Files.createSymbolicLink(repo.resolve(p.getFileName().toString()), p);
                }
            }
        }
        Path io = Files.createDirectories(repo.resolve("io"));
        if (Files.isDirectory(M2.resolve("io"))) {
            try (Stream<Path> groups = Files.list(M2.resolve("io"))) {
                for (Path p : groups.toList()) {
                    if (!p.getFileName().toString().equals("refrag")) {
                        Files.createSymbolicLink(io.resolve(p.getFileName().toString()), p);
                    }
                }
            }
        }
        install(repo, "refrag-parent", SharedModels.repo("pom.xml"), null);
        install(repo, "refrag-bom", SharedModels.repo("refrag-bom/pom.xml"), null);
        for (String module : MODULES) {
            install(repo, module, SharedModels.repo(module + "/pom.xml"),
                    SharedModels.repo(module + "/target/" + module + "-" + VERSION + ".jar"));
        }
        return repo;
    }

    private static void install(Path repo, String artifact, Path pom, Path jar) throws IOException {
        Path dir = Files.createDirectories(repo.resolve("io/refrag/" + artifact + "/" + VERSION));
        Files.copy(pom, dir.resolve(artifact + "-" + VERSION + ".pom"), StandardCopyOption.REPLACE_EXISTING);
        if (jar != null) {
            Files.copy(jar, dir.resolve(artifact + "-" + VERSION + ".jar"), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** @return the project: a plain pom with the README's block inside, plugin versions pinned for offline builds */
    private static String pom(String block) {
        return String.join("\n",
                "<project xmlns=\"http://maven.apache.org/POM/4.0.0\">",
                "  <modelVersion>4.0.0</modelVersion>",
                "  <groupId>example</groupId>",
                "  <artifactId>app</artifactId>",
                "  <version>1</version>",
                "  <properties>",
                "    <maven.compiler.release>17</maven.compiler.release>",
                "    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>",
                "  </properties>",
                block,
                "  <build>",
                "    <plugins>",
                "      <plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin>",
                "      <plugin><artifactId>maven-resources-plugin</artifactId><version>3.3.1</version></plugin>",
                "    </plugins>",
                "  </build>",
                "</project>",
                "");
    }

    private static String block(String readme, String marker, String language) {
        String open = marker + "\n```" + language + "\n";
        int at = readme.indexOf(open);
        assertTrue(at >= 0, "README.md lacks " + marker);
        int start = at + open.length();
        return readme.substring(start, readme.indexOf("```\n", start));
    }

    private static String tag(String xml, String name) {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]*)</" + Pattern.quote(name) + ">").matcher(xml);
        return m.find() ? m.group(1).strip() : null;
    }

    private static Set<String> versions(String deps, String regex) {
        Set<String> out = new TreeSet<>();
        Matcher m = Pattern.compile(regex).matcher(deps);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    private record Result(int code, String output) {
    }

    private static Result run(Path dir, int timeoutSeconds, String... command) throws Exception {
        Path log = Files.createTempFile("distribution", ".log");
        Process p = new ProcessBuilder(new ArrayList<>(List.of(command))).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!done) {
            p.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        return new Result(done ? p.exitValue() : -1, output);
    }
}
