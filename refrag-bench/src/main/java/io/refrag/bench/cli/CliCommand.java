package io.refrag.bench.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** A sub-command: results on {@link #out()}, progress and messages on {@link #err()}; exit code 0 when it returns. */
abstract class CliCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

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

    /** @return the command's name as typed, e.g. {@code train reconstruct}'s {@code train} */
    String name() {
        return spec.name();
    }
}
