package io.refrag.bench.cli;

import io.refrag.core.report.ResultJson;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/** A sub-command: results on {@link #out()}, progress and messages on {@link #err()}; exit code 0 when it returns. */
abstract class CliCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "print the result as JSON")
    boolean json;

    /** Runs the command; bad input throws a {@link io.refrag.core.exception.RefragException} (exit code 2). */
    abstract void execute();

    @Override
    public final Integer call() {
        try {
            execute();
        } finally {
            out().flush();
            err().flush();
        }
        return 0;
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /**
     * Prints the command's result: with {@code --json} as {@link ResultJson} writes it, else as {@code text} does.
     *
     * @param result the result
     * @param text writes it for a reader
     */
    void print(Object result, Consumer<PrintWriter> text) {
        if (json) {
            out().println(ResultJson.toJson(result));
        } else {
            text.accept(out());
        }
    }

    /** @return the command's name as typed, e.g. {@code train reconstruct}'s {@code train} */
    String name() {
        return spec.name();
    }

    /**
     * @param command the command's name, for the folder's name and the error
     * @return a new temporary folder, which the command deletes
     */
    static Path tempDir(String command) {
        try {
            return Files.createTempDirectory("refrag-" + command);
        } catch (IOException e) {
            throw new UsageException(command + ": cannot create a temporary folder: " + e.getMessage());
        }
    }
}
